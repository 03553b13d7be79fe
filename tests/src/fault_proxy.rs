//! A TCP proxy that fails on command, for outage tests without stopping
//! real services: point the server at it instead of Postgres or Redis, then
//! [`cut`](FaultProxy::cut) every open connection and refuse (or black-hole)
//! new ones, [`freeze`](FaultProxy::freeze) open connections so they stay
//! open but silent (a host gone without closing anything), and
//! [`heal`](FaultProxy::heal) to let new connections through again.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;

/// What happens to connections opened during an outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// The port stops listening: connecting fails at once with "connection
    /// refused", as when the service is stopped.
    Refuse,
    /// Connections are accepted and never answered, as when the host is
    /// unreachable behind a firewall that drops packets.
    BlackHole,
}

/// The proxy's state, watched by the accept loop and every connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct State {
    /// Accepting and forwarding, or the outage in force.
    outage: Option<Outage>,
    /// Bumped by `cut`: connections opened before close.
    cuts: u64,
    /// Bumped by `freeze`: connections opened before stop forwarding.
    freezes: u64,
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    state: watch::Sender<State>,
    forwarded: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy on 127.0.0.1 (a free port) forwarding to `target`
    /// (`host:port`).
    pub async fn start(target: &str) -> Self {
        let target: SocketAddr = tokio::net::lookup_host(target)
            .await
            .ok()
            .and_then(|mut addrs| addrs.next())
            .unwrap_or_else(|| panic!("cannot resolve {target}"));
        let listener = listen(SocketAddr::from(([127, 0, 0, 1], 0)))
            .unwrap_or_else(|e| panic!("proxy bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("proxy address: {e}"));
        let (state, watcher) = watch::channel(State {
            outage: None,
            cuts: 0,
            freezes: 0,
        });
        let forwarded = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(accept_loop(
            listener,
            addr,
            target,
            watcher,
            forwarded.clone(),
        ));
        Self {
            addr,
            state,
            forwarded,
            task,
        }
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Closes every open connection and treats new ones as `outage` says.
    pub fn cut(&self, outage: Outage) {
        self.state.send_modify(|s| {
            s.outage = Some(outage);
            s.cuts += 1;
        });
    }

    /// Leaves open connections open but forwards nothing on them, ever
    /// again (their peer went silent); new connections are black-holed
    /// until [`heal`](Self::heal).
    pub fn freeze(&self) {
        self.state.send_modify(|s| {
            s.outage = Some(Outage::BlackHole);
            s.freezes += 1;
        });
    }

    /// Accepts and forwards new connections again. Frozen connections stay
    /// frozen, black-holed ones stay unanswered.
    pub fn heal(&self) {
        self.state.send_modify(|s| s.outage = None);
    }

    /// How many connections were forwarded to the target so far.
    pub fn forwarded(&self) -> usize {
        self.forwarded.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
        // Ends every connection task (they watch the state).
        self.state.send_modify(|s| s.cuts += 1);
    }
}

/// A listening socket that can be bound again on the same port right after
/// it was closed.
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

async fn accept_loop(
    mut listener: TcpListener,
    addr: SocketAddr,
    target: SocketAddr,
    mut state: watch::Receiver<State>,
    forwarded: Arc<AtomicUsize>,
) {
    loop {
        let current = *state.borrow_and_update();
        if current.outage == Some(Outage::Refuse) {
            // Stop listening until the outage ends, then listen again on
            // the same port (retrying: an outgoing connection may hold it
            // for a moment).
            drop(listener);
            while state.borrow_and_update().outage == Some(Outage::Refuse) {
                if state.changed().await.is_err() {
                    return;
                }
            }
            listener = loop {
                match listen(addr) {
                    Ok(listener) => break listener,
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            };
            continue;
        }
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((client, _)) = accepted else { continue };
                let watcher = state.clone();
                if current.outage == Some(Outage::BlackHole) {
                    tokio::spawn(hold_silently(client, None, watcher, current.cuts));
                } else {
                    forwarded.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(forward(client, target, watcher, current));
                }
            }
            changed = state.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

/// Forwards both ways until either side closes, the proxy cuts (close
/// both) or freezes (go silent).
async fn forward(
    mut client: TcpStream,
    target: SocketAddr,
    mut state: watch::Receiver<State>,
    opened: State,
) {
    let Ok(mut upstream) = TcpStream::connect(target).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let frozen = tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => return,
        signal = until(&mut state, |s| s.cuts != opened.cuts || s.freezes != opened.freezes) => {
            matches!(signal, Some(s) if s.cuts == opened.cuts)
        }
    };
    if frozen {
        hold_silently(client, Some(upstream), state, opened.cuts).await;
    }
}

/// Keeps the sockets open and answers nothing (reading and dropping what
/// arrives) until the peer closes or the proxy cuts.
async fn hold_silently(
    mut client: TcpStream,
    upstream: Option<TcpStream>,
    mut state: watch::Receiver<State>,
    cuts: u64,
) {
    let _upstream = upstream;
    let mut sink = [0u8; 4096];
    loop {
        tokio::select! {
            read = client.read(&mut sink) => match read {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            },
            _ = until(&mut state, |s| s.cuts != cuts) => return,
        }
    }
}

/// Waits until `condition` holds for the state; `None` when the proxy is gone.
async fn until(
    state: &mut watch::Receiver<State>,
    condition: impl Fn(&State) -> bool,
) -> Option<State> {
    state.wait_for(|s| condition(s)).await.ok().map(|s| *s)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// An echo server on a free port.
    async fn echo_server() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = socket.read(&mut buf).await {
                        if n == 0 || socket.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        addr.to_string()
    }

    async fn echoes(stream: &mut TcpStream, within: Duration) -> bool {
        let mut buf = [0u8; 4];
        let exchange = async {
            stream.write_all(b"ping").await?;
            stream.read_exact(&mut buf).await
        };
        matches!(tokio::time::timeout(within, exchange).await, Ok(Ok(_))) && &buf == b"ping"
    }

    #[tokio::test]
    async fn forwards_then_cuts_and_refuses_then_heals() {
        let proxy = FaultProxy::start(&echo_server().await).await;
        let mut open = TcpStream::connect(proxy.addr()).await.expect("connect");
        assert!(echoes(&mut open, Duration::from_secs(2)).await);

        proxy.cut(Outage::Refuse);
        let mut buf = [0u8; 4];
        let read = tokio::time::timeout(Duration::from_secs(2), open.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "the open connection was closed: {read:?}"
        );
        // The listener closes right after the signal.
        let deadline = Instant::now() + Duration::from_secs(2);
        let refused = loop {
            match TcpStream::connect(proxy.addr()).await {
                Err(e) => break e,
                Ok(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(10)).await
                }
                Ok(_) => panic!("still accepting during the outage"),
            }
        };
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);

        proxy.heal();
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut again = loop {
            match TcpStream::connect(proxy.addr()).await {
                Ok(stream) => break stream,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(10)).await
                }
                Err(e) => panic!("not listening again: {e}"),
            }
        };
        assert!(echoes(&mut again, Duration::from_secs(2)).await);
    }

    #[tokio::test]
    async fn black_holes_new_connections_and_freezes_open_ones() {
        let proxy = FaultProxy::start(&echo_server().await).await;
        let mut open = TcpStream::connect(proxy.addr()).await.expect("connect");
        assert!(echoes(&mut open, Duration::from_secs(2)).await);

        proxy.freeze();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !echoes(&mut open, Duration::from_millis(300)).await,
            "a frozen connection answers nothing"
        );
        let mut late = TcpStream::connect(proxy.addr())
            .await
            .expect("accepted into the black hole");
        assert!(!echoes(&mut late, Duration::from_millis(300)).await);

        proxy.heal();
        let mut fresh = TcpStream::connect(proxy.addr()).await.expect("connect");
        assert!(echoes(&mut fresh, Duration::from_secs(2)).await);
        assert!(
            !echoes(&mut open, Duration::from_millis(300)).await,
            "frozen connections stay frozen"
        );
        assert_eq!(proxy.forwarded(), 2);
    }
}
