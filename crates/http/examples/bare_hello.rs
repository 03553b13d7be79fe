//! A bare actix-web server answering `GET /health` with a small JSON body:
//! the yardstick `just bench` compares our `/health` against.
//!
//! Usage: `bare_hello PORT`

use actix_web::{App, HttpResponse, HttpServer, get};

#[get("/health")]
async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "healthy"}))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8081);
    HttpServer::new(|| App::new().service(health))
        .bind(("127.0.0.1", port))?
        .run()
        .await
}
