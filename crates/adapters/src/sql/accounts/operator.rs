//! What only operators' commands need: a user and a shared tenant in one
//! transaction, a tenant found by id or slug, and every tenant listed.

use agents_domain::account::{AccountError, NewTenant, NewUser, Role, Tenant, TenantRef, User};
use sea_orm::{DatabaseConnection, Value};

use super::{insert_membership, insert_tenant, insert_user_with_tenant, stored_user};
use crate::sql::rows;
use crate::sql::support::{all, commit, get, one, stmt, transact, uuid};

pub(super) async fn register_with_tenant(
    db: &DatabaseConnection,
    user: NewUser,
    personal: NewTenant,
    shared: NewTenant,
) -> Result<(User, Tenant, Tenant), AccountError> {
    let (user, personal, shared) = (&user, &personal, &shared);
    let (home, extra) = transact(db, |txn| async move {
        let home = insert_user_with_tenant(&txn, user, personal).await?;
        let extra = insert_tenant(&txn, shared).await?;
        insert_membership(&txn, extra.id, user.id, Role::Owner, user.created_at).await?;
        commit(txn).await?;
        Ok::<_, AccountError>((home, extra))
    })
    .await?;
    Ok((stored_user(user, home.id), home, extra))
}

const TENANT: &str = "SELECT id, slug, name, created_at FROM tenant_accounts";

pub(super) async fn find_tenant(
    db: &DatabaseConnection,
    tenant: &TenantRef,
) -> Result<Option<Tenant>, AccountError> {
    let b = db.get_database_backend();
    let statement = match tenant {
        TenantRef::Id(id) => stmt(
            b,
            &format!("{TENANT} WHERE id = $1"),
            vec![uuid(id.as_uuid())],
        ),
        TenantRef::Slug(slug) => stmt(
            b,
            &format!("{TENANT} WHERE slug = $1"),
            vec![Value::from(slug.as_str())],
        ),
        TenantRef::Default => return Ok(None),
    };
    match one(db, statement).await? {
        Some(row) => Ok(Some(rows::tenant(&row, "")?)),
        None => Ok(None),
    }
}

pub(super) async fn list_tenants(
    db: &DatabaseConnection,
) -> Result<Vec<(Tenant, u64)>, AccountError> {
    let rows = all(
        db,
        stmt(
            db.get_database_backend(),
            "SELECT t.id, t.slug, t.name, t.created_at,
                 (SELECT COUNT(*) FROM tenant_memberships m WHERE m.tenant_id = t.id) AS members
             FROM tenant_accounts t ORDER BY t.created_at, t.id",
            vec![],
        ),
    )
    .await?;
    rows.iter()
        .map(|row| {
            let members: i64 = get(row, "members")?;
            Ok((rows::tenant(row, "")?, u64::try_from(members).unwrap_or(0)))
        })
        .collect()
}
