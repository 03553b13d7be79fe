//! The `RunStore` contract, run against the in-memory store, SQLite and Postgres.

mod contract;

use agents_domain::RunId;
use agents_domain::run::{NewRun, RunOutcome, RunStatus};

use contract::{Fixture, at, key, register, user_message};

async fn new_run(f: &Fixture, name: &str, conversation: &str) -> NewRun {
    let (user, tenant) = register(f, name).await;
    let scope = agents_domain::conversation::ConversationScope {
        tenant_id: tenant,
        user_id: user,
        include_unowned: false,
        api_key: None,
    };
    f.conversations
        .append(
            scope,
            &key(conversation),
            user_message("hi", 0),
            Default::default(),
        )
        .await
        .expect("conversation");
    NewRun {
        id: RunId::new(),
        tenant_id: tenant,
        user_id: user,
        conversation: key(conversation),
        agent: "triage".into(),
        started_at: at(1),
        owner: "process-a".into(),
        lease_until: at(31),
    }
}

fn outcome(status: RunStatus, last: u64) -> RunOutcome {
    RunOutcome {
        status,
        agent_used: "code_assistant".into(),
        last_event_id: last,
        error: (status != RunStatus::Completed).then(|| "cancelled".to_owned()),
        finished_at: at(20),
    }
}

async fn a_run_is_stored_running_and_read_back_in_its_tenant_only(f: Fixture) {
    let run = new_run(&f, "alice", "c1").await;
    f.runs.create(run.clone()).await.expect("create");
    let stored = f
        .runs
        .get(run.tenant_id, run.id)
        .await
        .expect("get")
        .expect("found");
    assert_eq!(stored.status, RunStatus::Running);
    assert_eq!(stored.user_id, Some(run.user_id));
    assert_eq!(stored.conversation, run.conversation);
    assert_eq!(stored.agent_used, "triage");
    assert_eq!(stored.started_at, at(1));
    assert_eq!(stored.lease_until, at(31));
    assert_eq!((stored.finished_at, stored.last_event_id), (None, 0));
    let (_, other_tenant) = register(&f, "bob").await;
    assert_eq!(f.runs.get(other_tenant, run.id).await.expect("get"), None);
    assert_eq!(
        f.runs.get(run.tenant_id, RunId::new()).await.expect("get"),
        None
    );
}

async fn a_run_finishes_once_and_keeps_its_outcome(f: Fixture) {
    let run = new_run(&f, "alice", "c1").await;
    f.runs.create(run.clone()).await.expect("create");
    let (_, other_tenant) = register(&f, "bob").await;
    assert!(
        !f.runs
            .finish(other_tenant, run.id, outcome(RunStatus::Completed, 9))
            .await
            .expect("finish"),
        "another tenant cannot end it"
    );
    assert!(
        f.runs
            .finish(run.tenant_id, run.id, outcome(RunStatus::Cancelled, 7))
            .await
            .expect("finish")
    );
    assert!(
        !f.runs
            .finish(run.tenant_id, run.id, outcome(RunStatus::Completed, 9))
            .await
            .expect("finish again"),
        "an ended run stays as it ended"
    );
    let stored = f
        .runs
        .get(run.tenant_id, run.id)
        .await
        .expect("get")
        .expect("found");
    assert_eq!(stored.status, RunStatus::Cancelled);
    assert_eq!(stored.last_event_id, 7);
    assert_eq!(stored.agent_used, "code_assistant");
    assert_eq!(stored.error.as_deref(), Some("cancelled"));
    assert_eq!(stored.finished_at, Some(at(20)));
}

async fn the_active_run_is_the_newest_running_one_with_a_live_lease(f: Fixture) {
    let run = new_run(&f, "alice", "c1").await;
    f.runs.create(run.clone()).await.expect("create");
    let tenant = run.tenant_id;
    let active = f
        .runs
        .active_for(tenant, &key("c1"), at(10))
        .await
        .expect("active");
    assert_eq!(active.map(|r| r.id), Some(run.id));
    // The lease lapsed: nothing is active, and the run reads interrupted.
    assert_eq!(
        f.runs
            .active_for(tenant, &key("c1"), at(32))
            .await
            .expect("active"),
        None
    );
    let stored = f
        .runs
        .get(tenant, run.id)
        .await
        .expect("get")
        .expect("found");
    assert_eq!(stored.status_at(at(32)), RunStatus::Interrupted);
    assert_eq!(
        f.runs
            .active_for(tenant, &key("c2"), at(10))
            .await
            .expect("active"),
        None
    );
    f.runs
        .finish(tenant, run.id, outcome(RunStatus::Completed, 3))
        .await
        .expect("finish");
    assert_eq!(
        f.runs
            .active_for(tenant, &key("c1"), at(10))
            .await
            .expect("active"),
        None
    );
}

async fn the_owner_renews_only_its_running_runs(f: Fixture) {
    let run = new_run(&f, "alice", "c1").await;
    f.runs.create(run.clone()).await.expect("create");
    let ended = NewRun {
        id: RunId::new(),
        ..run.clone()
    };
    f.runs.create(ended.clone()).await.expect("create");
    f.runs
        .finish(ended.tenant_id, ended.id, outcome(RunStatus::Completed, 1))
        .await
        .expect("finish");
    f.runs
        .renew("process-b", &[run.id], at(500))
        .await
        .expect("renew by another process");
    let read = |id| {
        let runs = f.runs.clone();
        async move {
            runs.get(run.tenant_id, id)
                .await
                .expect("get")
                .expect("found")
        }
    };
    assert_eq!(read(run.id).await.lease_until, at(31));
    f.runs
        .renew("process-a", &[run.id, ended.id, RunId::new()], at(60))
        .await
        .expect("renew");
    assert_eq!(read(run.id).await.lease_until, at(60));
    assert_eq!(read(ended.id).await.lease_until, at(31));
}

contract_tests!(
    a_run_is_stored_running_and_read_back_in_its_tenant_only,
    a_run_finishes_once_and_keeps_its_outcome,
    the_active_run_is_the_newest_running_one_with_a_live_lease,
    the_owner_renews_only_its_running_runs,
);
