//! `AccountStore` on sea-orm: users (the Python `users` table, extended),
//! tenants and memberships. Multi-row changes are one transaction; roles are
//! always read from the membership row.

mod members;
mod operator;

use agents_domain::account::{
    AccountError, AccountStore, AuthContext, Member, NewTenant, NewUser, Role, Tenant, TenantRef,
    TenantWithRole, User,
};
use agents_domain::{StoreError, TenantId, UserId};
use async_trait::async_trait;
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, Value};
use time::OffsetDateTime;

use super::rows::{self, USER_COLUMNS};
use super::support::{
    all, commit, get, is_foreign_key_violation, one, opt_str, stmt, store_err, transact, ts,
    unique_violation, uuid,
};

/// Users, tenants and memberships in SQL.
#[derive(Debug, Clone)]
pub struct SeaOrmAccountStore {
    db: DatabaseConnection,
}

impl SeaOrmAccountStore {
    /// A store on an open (and migrated) connection.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }
}

/// Maps a failed write: which unique constraint fired decides the variant.
pub(super) fn account_err(err: DbErr) -> AccountError {
    if let Some(message) = unique_violation(&err) {
        if message.contains("username") || message.contains("external") {
            return AccountError::UsernameTaken;
        }
        if message.contains("email") {
            return AccountError::EmailTaken;
        }
        if message.contains("slug") {
            return AccountError::SlugTaken;
        }
        if message.contains("tenant_memberships") {
            return AccountError::AlreadyMember;
        }
    }
    if is_foreign_key_violation(&err) {
        return AccountError::NotFound;
    }
    AccountError::Store(store_err(err))
}

/// Runs a write inside `txn`, mapping its failure to an account error.
pub(super) async fn write(
    txn: &DatabaseTransaction,
    statement: sea_orm::Statement,
) -> Result<u64, AccountError> {
    use sea_orm::ConnectionTrait;
    txn.execute_raw(statement)
        .await
        .map(|r| r.rows_affected())
        .map_err(account_err)
}

/// The user as stored by [`insert_user_with_tenant`].
pub(super) fn stored_user(user: &NewUser, home: TenantId) -> User {
    User {
        id: user.id,
        username: user.username.as_str().to_owned(),
        email: user.email.as_str().to_owned(),
        display_name: user.display_name.as_ref().map(|d| d.as_str().to_owned()),
        is_active: true,
        home_tenant_id: Some(home),
        created_at: user.created_at,
    }
}

/// Inserts a user and their personal tenant, owned by them, inside `txn`.
pub(super) async fn insert_user_with_tenant(
    txn: &DatabaseTransaction,
    user: &NewUser,
    new_tenant: &NewTenant,
) -> Result<Tenant, AccountError> {
    let b = txn_backend(txn);
    // The user first, without a home tenant, so a taken username or
    // email is reported before a taken slug (the slug derives from the
    // username).
    write(
        txn,
        stmt(
            b,
            "INSERT INTO users (id, tenant_id, external_id, display_name, created_at, username, email,
                 password_hash, is_active, updated_at)
             VALUES ($1, NULL, $2, $3, $4, $2, $5, $6, true, $4)",
            vec![
                uuid(user.id.as_uuid()),
                Value::from(user.username.as_str()),
                opt_str(user.display_name.as_ref().map(|d| d.as_str())),
                ts(b, user.created_at),
                Value::from(user.email.as_str()),
                Value::from(user.password_hash.as_str()),
            ],
        ),
    )
    .await?;
    let tenant = insert_tenant(txn, new_tenant).await?;
    write(
        txn,
        stmt(
            b,
            "UPDATE users SET tenant_id = $1 WHERE id = $2",
            vec![uuid(tenant.id.as_uuid()), uuid(user.id.as_uuid())],
        ),
    )
    .await?;
    insert_membership(txn, tenant.id, user.id, Role::Owner, user.created_at).await?;
    Ok(tenant)
}

/// Inserts a tenant row.
pub(super) async fn insert_tenant(
    txn: &DatabaseTransaction,
    tenant: &NewTenant,
) -> Result<Tenant, AccountError> {
    let b = txn_backend(txn);
    write(
        txn,
        stmt(
            b,
            "INSERT INTO tenant_accounts (id, slug, name, created_at) VALUES ($1, $2, $3, $4)",
            vec![
                uuid(tenant.id.as_uuid()),
                Value::from(tenant.slug.as_str()),
                Value::from(tenant.name.as_str()),
                ts(b, tenant.created_at),
            ],
        ),
    )
    .await?;
    Ok(Tenant {
        id: tenant.id,
        slug: tenant.slug.as_str().to_owned(),
        name: tenant.name.as_str().to_owned(),
        created_at: tenant.created_at,
    })
}

/// Inserts a membership row.
pub(super) async fn insert_membership(
    txn: &DatabaseTransaction,
    tenant: TenantId,
    user: UserId,
    role: Role,
    at: OffsetDateTime,
) -> Result<(), AccountError> {
    let b = txn_backend(txn);
    write(
        txn,
        stmt(
            b,
            "INSERT INTO tenant_memberships (tenant_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
            vec![uuid(tenant.as_uuid()), uuid(user.as_uuid()), Value::from(role.as_str()), ts(b, at)],
        ),
    )
    .await
    .map(|_| ())
}

pub(super) fn txn_backend(txn: &DatabaseTransaction) -> DbBackend {
    use sea_orm::ConnectionTrait;
    txn.get_database_backend()
}

/// Parses a stored role.
pub(super) fn role(value: &str) -> Result<Role, StoreError> {
    Role::parse(value).map_err(|_| StoreError::other(format!("unknown stored role {value:?}")))
}

#[async_trait]
impl AccountStore for SeaOrmAccountStore {
    async fn register(
        &self,
        user: NewUser,
        tenant: NewTenant,
    ) -> Result<(User, Tenant), AccountError> {
        let (user, new_tenant) = (&user, &tenant);
        let tenant = transact(&self.db, |txn| async move {
            let tenant = insert_user_with_tenant(&txn, user, new_tenant).await?;
            commit(txn).await?;
            Ok::<_, AccountError>(tenant)
        })
        .await?;
        Ok((stored_user(user, tenant.id), tenant))
    }

    async fn register_with_tenant(
        &self,
        user: NewUser,
        personal: NewTenant,
        shared: NewTenant,
    ) -> Result<(User, Tenant, Tenant), AccountError> {
        operator::register_with_tenant(&self.db, user, personal, shared).await
    }

    async fn find_tenant(&self, tenant: &TenantRef) -> Result<Option<Tenant>, AccountError> {
        operator::find_tenant(&self.db, tenant).await
    }

    async fn list_tenants(&self) -> Result<Vec<(Tenant, u64)>, AccountError> {
        operator::list_tenants(&self.db).await
    }

    async fn find_credentials(
        &self,
        username_or_email: &str,
    ) -> Result<Option<(User, String)>, AccountError> {
        let sql = format!(
            "SELECT {USER_COLUMNS}, u.password_hash FROM users u
             WHERE (u.username = $1 OR u.email = $2) AND u.password_hash IS NOT NULL LIMIT 1"
        );
        let values = vec![
            Value::from(username_or_email),
            Value::from(username_or_email.to_lowercase()),
        ];
        let Some(row) = one(&self.db, stmt(self.backend(), &sql, values)).await? else {
            return Ok(None);
        };
        Ok(Some((rows::user(&row)?, get(&row, "password_hash")?)))
    }

    async fn find_user(&self, id: UserId) -> Result<Option<User>, AccountError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1");
        let row = one(
            &self.db,
            stmt(self.backend(), &sql, vec![uuid(id.as_uuid())]),
        )
        .await?;
        Ok(row.as_ref().map(rows::user).transpose()?)
    }

    async fn find_user_by_login(
        &self,
        username_or_email: &str,
    ) -> Result<Option<User>, AccountError> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.username = $1 OR u.email = $2 LIMIT 1"
        );
        let values = vec![
            Value::from(username_or_email),
            Value::from(username_or_email.to_lowercase()),
        ];
        let row = one(&self.db, stmt(self.backend(), &sql, values)).await?;
        Ok(row.as_ref().map(rows::user).transpose()?)
    }

    async fn auth_context(
        &self,
        user: UserId,
        tenant: &TenantRef,
    ) -> Result<Option<AuthContext>, AccountError> {
        const SELECT: &str = "SELECT u.id AS user_id, u.is_active, t.id AS t_id, t.slug AS t_slug,
             t.name AS t_name, t.created_at AS t_created_at, m.role FROM users u";
        let mut values = vec![uuid(user.as_uuid())];
        let sql = match tenant {
            TenantRef::Id(id) => {
                values.push(uuid(id.as_uuid()));
                format!(
                    "{SELECT} LEFT JOIN tenant_memberships m ON m.user_id = u.id AND m.tenant_id = $2
                     LEFT JOIN tenant_accounts t ON t.id = m.tenant_id WHERE u.id = $1"
                )
            }
            TenantRef::Slug(slug) => {
                values.push(Value::from(slug.as_str()));
                format!(
                    "{SELECT} LEFT JOIN tenant_memberships m ON m.user_id = u.id
                         AND m.tenant_id = (SELECT id FROM tenant_accounts WHERE slug = $2)
                     LEFT JOIN tenant_accounts t ON t.id = m.tenant_id WHERE u.id = $1"
                )
            }
            // The home tenant while still a member, else the first joined.
            TenantRef::Default => format!(
                "{SELECT} LEFT JOIN tenant_memberships m ON m.user_id = u.id
                 LEFT JOIN tenant_accounts t ON t.id = m.tenant_id WHERE u.id = $1
                 ORDER BY CASE WHEN m.tenant_id = u.tenant_id THEN 0 ELSE 1 END, m.created_at, m.tenant_id
                 LIMIT 1"
            ),
        };
        let Some(row) = one(&self.db, stmt(self.backend(), &sql, values)).await? else {
            return Ok(None);
        };
        let role_name: Option<String> = get(&row, "role")?;
        let tenant = match role_name {
            Some(name) => Some((rows::tenant(&row, "t_")?, role(&name)?)),
            None => None,
        };
        Ok(Some(AuthContext {
            user_id: UserId::from_uuid(get(&row, "user_id")?),
            is_active: get(&row, "is_active")?,
            tenant,
        }))
    }

    async fn tenants_of(&self, user: UserId) -> Result<Vec<TenantWithRole>, AccountError> {
        let rows = all(
            &self.db,
            stmt(
                self.backend(),
                "SELECT t.id AS t_id, t.slug AS t_slug, t.name AS t_name, t.created_at AS t_created_at, m.role
                 FROM tenant_memberships m JOIN tenant_accounts t ON t.id = m.tenant_id
                 WHERE m.user_id = $1 ORDER BY m.created_at, t.slug",
                vec![uuid(user.as_uuid())],
            ),
        )
        .await?;
        rows.iter()
            .map(|row| {
                let name: String = get(row, "role")?;
                Ok(TenantWithRole {
                    tenant: rows::tenant(row, "t_")?,
                    role: role(&name)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()
            .map_err(AccountError::from)
    }

    async fn slug_exists(&self, slug: &str) -> Result<bool, AccountError> {
        let row = one(
            &self.db,
            stmt(
                self.backend(),
                "SELECT 1 AS one FROM tenant_accounts WHERE slug = $1",
                vec![Value::from(slug)],
            ),
        )
        .await?;
        Ok(row.is_some())
    }

    async fn create_tenant(
        &self,
        tenant: NewTenant,
        owner: UserId,
        max_owned: Option<u32>,
    ) -> Result<Tenant, AccountError> {
        members::create_tenant(&self.db, tenant, owner, max_owned).await
    }

    async fn ensure_tenant(&self, tenant: NewTenant) -> Result<Tenant, AccountError> {
        members::ensure_tenant(&self.db, tenant).await
    }

    async fn members(&self, tenant: TenantId) -> Result<Vec<Member>, AccountError> {
        members::members(&self.db, tenant).await
    }

    async fn add_member(
        &self,
        tenant: TenantId,
        user: UserId,
        role: Role,
        at: OffsetDateTime,
    ) -> Result<Member, AccountError> {
        members::add_member(&self.db, tenant, user, role, at).await
    }

    async fn change_role(
        &self,
        tenant: TenantId,
        user: UserId,
        role: Role,
    ) -> Result<Member, AccountError> {
        members::change_role(&self.db, tenant, user, role).await
    }

    async fn remove_member(&self, tenant: TenantId, user: UserId) -> Result<(), AccountError> {
        members::remove_member(&self.db, tenant, user).await
    }

    async fn set_active(&self, user: UserId, active: bool) -> Result<(), AccountError> {
        let b = self.backend();
        let changed = super::support::exec(
            &self.db,
            stmt(
                b,
                "UPDATE users SET is_active = $2, updated_at = $3 WHERE id = $1",
                vec![
                    uuid(user.as_uuid()),
                    Value::from(active),
                    ts(b, OffsetDateTime::now_utc()),
                ],
            ),
        )
        .await?;
        if changed == 0 {
            Err(AccountError::NotFound)
        } else {
            Ok(())
        }
    }
}
