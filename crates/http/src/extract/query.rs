//! Query strings parsed so every failure names its parameter: `Query<T>`
//! instead of actix's (`?limit=abc` is a 422 on `limit`, not on `query`).

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, from_query};

/// The query string deserialized into `T`, with one error per wrong parameter.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> std::ops::Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            from_query(req.query_string())
                .map(Query)
                .map_err(ApiError::validation),
        )
    }
}
