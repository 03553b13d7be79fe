//! Tenants and memberships. Changes that could remove a tenant's last owner
//! lock the tenant row first (Postgres) or hold SQLite's write lock, so two
//! concurrent demotions cannot both pass the owner count.

use agents_domain::account::{AccountError, Member, NewTenant, Role, Tenant};
use agents_domain::{StoreError, TenantId, UserId};
use sea_orm::{ConnectionTrait, DatabaseConnection, Value};
use time::OffsetDateTime;

use super::{insert_membership, insert_tenant, role, txn_backend, write};
use crate::sql::rows;
use crate::sql::support::{
    all, begin_write, commit, exec, for_update, get, one, stmt, transact, ts, uuid,
};

/// Creates a tenant owned by `owner`, who may then own at most
/// `max_owned` tenants. The owner's user row is locked first (Postgres; on
/// SQLite the write lock is held), so concurrent creations by one user
/// count each other's tenants.
pub(super) async fn create_tenant(
    db: &DatabaseConnection,
    tenant: NewTenant,
    owner: UserId,
    max_owned: Option<u32>,
) -> Result<Tenant, AccountError> {
    let txn = begin_write(db).await?;
    if let Some(max) = max_owned {
        let b = txn_backend(&txn);
        let lock = format!("SELECT id FROM users WHERE id = $1{}", for_update(b));
        if one(&txn, stmt(b, &lock, vec![uuid(owner.as_uuid())]))
            .await?
            .is_none()
        {
            return Err(AccountError::NotFound);
        }
        let count = one(
            &txn,
            stmt(
                b,
                "SELECT COUNT(*) AS owned FROM tenant_memberships WHERE user_id = $1 AND role = $2",
                vec![uuid(owner.as_uuid()), Value::from(Role::Owner.as_str())],
            ),
        )
        .await?;
        let owned: i64 = count
            .map(|row| get(&row, "owned"))
            .transpose()?
            .unwrap_or(0);
        if owned >= i64::from(max) {
            return Err(AccountError::TenantLimitReached);
        }
    }
    let created = insert_tenant(&txn, &tenant).await?;
    // A missing owner is a foreign-key violation, mapped to NotFound.
    insert_membership(&txn, created.id, owner, Role::Owner, tenant.created_at).await?;
    commit(txn).await?;
    Ok(created)
}

/// Finds the tenant by slug, creating it if absent; a concurrent creation is not an error.
pub(super) async fn ensure_tenant(
    db: &DatabaseConnection,
    tenant: NewTenant,
) -> Result<Tenant, AccountError> {
    let b = db.get_database_backend();
    exec(
        db,
        stmt(
            b,
            "INSERT INTO tenant_accounts (id, slug, name, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (slug) DO NOTHING",
            vec![
                uuid(tenant.id.as_uuid()),
                Value::from(tenant.slug.as_str()),
                Value::from(tenant.name.as_str()),
                ts(b, tenant.created_at),
            ],
        ),
    )
    .await?;
    let row = one(
        db,
        stmt(
            b,
            "SELECT id AS t_id, slug AS t_slug, name AS t_name, created_at AS t_created_at
             FROM tenant_accounts WHERE slug = $1",
            vec![Value::from(tenant.slug.as_str())],
        ),
    )
    .await?
    .ok_or_else(|| StoreError::Other("tenant vanished after insert".into()))?;
    Ok(rows::tenant(&row, "t_")?)
}

const MEMBER_SELECT: &str = "SELECT m.user_id, COALESCE(u.username, u.external_id) AS username,
     COALESCE(u.email, '') AS email, m.role, m.created_at
     FROM tenant_memberships m JOIN users u ON u.id = m.user_id";

fn member(row: &sea_orm::QueryResult) -> Result<Member, StoreError> {
    let name: String = get(row, "role")?;
    Ok(Member {
        user_id: UserId::from_uuid(get(row, "user_id")?),
        username: get(row, "username")?,
        email: get(row, "email")?,
        role: role(&name)?,
        joined_at: get(row, "created_at")?,
    })
}

async fn one_member<C: ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    user: UserId,
) -> Result<Option<Member>, StoreError> {
    let sql = format!("{MEMBER_SELECT} WHERE m.tenant_id = $1 AND m.user_id = $2");
    let row = one(
        db,
        stmt(
            db.get_database_backend(),
            &sql,
            vec![uuid(tenant.as_uuid()), uuid(user.as_uuid())],
        ),
    )
    .await?;
    row.as_ref().map(member).transpose()
}

/// The tenant's members, oldest first.
pub(super) async fn members(
    db: &DatabaseConnection,
    tenant: TenantId,
) -> Result<Vec<Member>, AccountError> {
    let sql = format!("{MEMBER_SELECT} WHERE m.tenant_id = $1 ORDER BY m.created_at, m.user_id");
    let rows = all(
        db,
        stmt(
            db.get_database_backend(),
            &sql,
            vec![uuid(tenant.as_uuid())],
        ),
    )
    .await?;
    Ok(rows.iter().map(member).collect::<Result<Vec<_>, _>>()?)
}

/// Adds a member; `AlreadyMember` when the pair exists, `NotFound` when the user or tenant does not.
pub(super) async fn add_member(
    db: &DatabaseConnection,
    tenant: TenantId,
    user: UserId,
    role: Role,
    at: OffsetDateTime,
) -> Result<Member, AccountError> {
    transact(db, |txn| async move {
        insert_membership(&txn, tenant, user, role, at).await?;
        let added = one_member(&txn, tenant, user)
            .await?
            .ok_or(AccountError::NotFound)?;
        commit(txn).await?;
        Ok(added)
    })
    .await
}

/// Locks the tenant (Postgres) and reads the member's current role.
async fn lock_member(
    txn: &sea_orm::DatabaseTransaction,
    tenant: TenantId,
    user: UserId,
) -> Result<Role, AccountError> {
    let b = txn_backend(txn);
    let lock = format!(
        "SELECT id FROM tenant_accounts WHERE id = $1{}",
        for_update(b)
    );
    one(txn, stmt(b, &lock, vec![uuid(tenant.as_uuid())]))
        .await?
        .ok_or(AccountError::NotFound)?;
    let row = one(
        txn,
        stmt(
            b,
            "SELECT role FROM tenant_memberships WHERE tenant_id = $1 AND user_id = $2",
            vec![uuid(tenant.as_uuid()), uuid(user.as_uuid())],
        ),
    )
    .await?
    .ok_or(AccountError::NotFound)?;
    let name: String = get(&row, "role")?;
    Ok(role(&name)?)
}

/// Refuses when the tenant has only one owner (the one being changed).
async fn ensure_other_owner(
    txn: &sea_orm::DatabaseTransaction,
    tenant: TenantId,
) -> Result<(), AccountError> {
    let b = txn_backend(txn);
    let row = one(
        txn,
        stmt(
            b,
            "SELECT COUNT(*) AS n FROM tenant_memberships WHERE tenant_id = $1 AND role = 'owner'",
            vec![uuid(tenant.as_uuid())],
        ),
    )
    .await?;
    let owners: i64 = match row {
        Some(row) => get(&row, "n")?,
        None => 0,
    };
    if owners <= 1 {
        Err(AccountError::LastOwner)
    } else {
        Ok(())
    }
}

/// Changes a member's role, never demoting the last owner.
pub(super) async fn change_role(
    db: &DatabaseConnection,
    tenant: TenantId,
    user: UserId,
    new_role: Role,
) -> Result<Member, AccountError> {
    transact(db, |txn| async move {
        let b = txn_backend(&txn);
        let current = lock_member(&txn, tenant, user).await?;
        if current == Role::Owner && new_role != Role::Owner {
            ensure_other_owner(&txn, tenant).await?;
        }
        write(
            &txn,
            stmt(
                b,
                "UPDATE tenant_memberships SET role = $3 WHERE tenant_id = $1 AND user_id = $2",
                vec![
                    uuid(tenant.as_uuid()),
                    uuid(user.as_uuid()),
                    Value::from(new_role.as_str()),
                ],
            ),
        )
        .await?;
        let changed = one_member(&txn, tenant, user)
            .await?
            .ok_or(AccountError::NotFound)?;
        commit(txn).await?;
        Ok(changed)
    })
    .await
}

/// Removes a member, never the last owner.
pub(super) async fn remove_member(
    db: &DatabaseConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<(), AccountError> {
    transact(db, |txn| async move {
        let b = txn_backend(&txn);
        if lock_member(&txn, tenant, user).await? == Role::Owner {
            ensure_other_owner(&txn, tenant).await?;
        }
        write(
            &txn,
            stmt(
                b,
                "DELETE FROM tenant_memberships WHERE tenant_id = $1 AND user_id = $2",
                vec![uuid(tenant.as_uuid()), uuid(user.as_uuid())],
            ),
        )
        .await?;
        commit(txn).await.map_err(AccountError::from)
    })
    .await
}
