//! `AccountStore` in memory, with the same uniqueness and last-owner rules
//! as the SQL store.

use std::collections::HashMap;
use std::sync::Mutex;

use agents_domain::account::{
    AccountError, AccountStore, AuthContext, Member, Membership, NewTenant, NewUser, Role, Tenant,
    TenantRef, TenantWithRole, User,
};
use agents_domain::{TenantId, UserId};
use async_trait::async_trait;
use time::OffsetDateTime;

use super::lock::lock;

#[derive(Debug, Default)]
struct State {
    users: HashMap<UserId, (User, Option<String>)>,
    tenants: HashMap<TenantId, Tenant>,
    memberships: Vec<Membership>,
}

impl State {
    fn user_by_login(&self, login: &str) -> Option<&(User, Option<String>)> {
        let email = login.to_lowercase();
        self.users
            .values()
            .find(|(u, _)| u.username == login || u.email == email)
    }

    fn membership(&self, tenant: TenantId, user: UserId) -> Option<&Membership> {
        self.memberships
            .iter()
            .find(|m| m.tenant_id == tenant && m.user_id == user)
    }

    /// Memberships of a user, oldest first.
    fn memberships_of(&self, user: UserId) -> Vec<&Membership> {
        let mut all: Vec<&Membership> = self
            .memberships
            .iter()
            .filter(|m| m.user_id == user)
            .collect();
        all.sort_by_key(|m| (m.created_at, m.tenant_id));
        all
    }

    fn member(&self, m: &Membership) -> Option<Member> {
        let (user, _) = self.users.get(&m.user_id)?;
        Some(Member {
            user_id: m.user_id,
            username: user.username.clone(),
            email: user.email.clone(),
            role: m.role,
            joined_at: m.created_at,
        })
    }

    fn owners(&self, tenant: TenantId) -> usize {
        self.memberships
            .iter()
            .filter(|m| m.tenant_id == tenant && m.role == Role::Owner)
            .count()
    }

    fn slug_taken(&self, slug: &str) -> bool {
        self.tenants.values().any(|t| t.slug == slug)
    }

    /// The uniqueness checks of a registration, before anything is written.
    fn check_new(&self, user: &NewUser, tenants: &[&NewTenant]) -> Result<(), AccountError> {
        if self
            .users
            .values()
            .any(|(u, _)| u.username == user.username.as_str())
        {
            return Err(AccountError::UsernameTaken);
        }
        if self
            .users
            .values()
            .any(|(u, _)| u.email == user.email.as_str())
        {
            return Err(AccountError::EmailTaken);
        }
        let clash = tenants.iter().enumerate().any(|(i, t)| {
            self.slug_taken(t.slug.as_str())
                || tenants[..i]
                    .iter()
                    .any(|o| o.slug.as_str() == t.slug.as_str())
        });
        if clash {
            return Err(AccountError::SlugTaken);
        }
        Ok(())
    }

    /// Stores a checked user with their personal tenant, owned by them.
    fn insert_user(&mut self, user: NewUser, tenant: &NewTenant) -> (User, Tenant) {
        let tenant = tenant_of(tenant);
        let stored = User {
            id: user.id,
            username: user.username.as_str().to_owned(),
            email: user.email.as_str().to_owned(),
            display_name: user.display_name.map(|d| d.as_str().to_owned()),
            is_active: true,
            home_tenant_id: Some(tenant.id),
            created_at: user.created_at,
        };
        self.tenants.insert(tenant.id, tenant.clone());
        self.users
            .insert(user.id, (stored.clone(), Some(user.password_hash)));
        self.memberships.push(Membership {
            tenant_id: tenant.id,
            user_id: user.id,
            role: Role::Owner,
            created_at: user.created_at,
        });
        (stored, tenant)
    }
}

fn tenant_of(new: &NewTenant) -> Tenant {
    Tenant {
        id: new.id,
        slug: new.slug.as_str().to_owned(),
        name: new.name.as_str().to_owned(),
        created_at: new.created_at,
    }
}

/// Users, tenants and memberships in memory.
#[derive(Debug, Default)]
pub struct InMemoryAccountStore {
    state: Mutex<State>,
}

impl InMemoryAccountStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl AccountStore for InMemoryAccountStore {
    async fn register(
        &self,
        user: NewUser,
        tenant: NewTenant,
    ) -> Result<(User, Tenant), AccountError> {
        let mut state = lock(&self.state);
        state.check_new(&user, &[&tenant])?;
        Ok(state.insert_user(user, &tenant))
    }

    async fn register_with_tenant(
        &self,
        user: NewUser,
        personal: NewTenant,
        shared: NewTenant,
    ) -> Result<(User, Tenant, Tenant), AccountError> {
        let mut state = lock(&self.state);
        state.check_new(&user, &[&personal, &shared])?;
        let at = user.created_at;
        let (stored, home) = state.insert_user(user, &personal);
        let extra = tenant_of(&shared);
        state.tenants.insert(extra.id, extra.clone());
        state.memberships.push(Membership {
            tenant_id: extra.id,
            user_id: stored.id,
            role: Role::Owner,
            created_at: at,
        });
        Ok((stored, home, extra))
    }

    async fn find_tenant(&self, tenant: &TenantRef) -> Result<Option<Tenant>, AccountError> {
        let state = lock(&self.state);
        Ok(match tenant {
            TenantRef::Id(id) => state.tenants.get(id).cloned(),
            TenantRef::Slug(slug) => state.tenants.values().find(|t| &t.slug == slug).cloned(),
            TenantRef::Default => None,
        })
    }

    async fn list_tenants(&self) -> Result<Vec<(Tenant, u64)>, AccountError> {
        let state = lock(&self.state);
        let mut tenants: Vec<(Tenant, u64)> = state
            .tenants
            .values()
            .map(|t| {
                let members = state
                    .memberships
                    .iter()
                    .filter(|m| m.tenant_id == t.id)
                    .count();
                (t.clone(), u64::try_from(members).unwrap_or(u64::MAX))
            })
            .collect();
        tenants.sort_by_key(|(t, _)| (t.created_at, t.id));
        Ok(tenants)
    }

    async fn find_credentials(
        &self,
        username_or_email: &str,
    ) -> Result<Option<(User, String)>, AccountError> {
        let state = lock(&self.state);
        Ok(state
            .user_by_login(username_or_email)
            .and_then(|(u, hash)| hash.clone().map(|h| (u.clone(), h))))
    }

    async fn find_user(&self, id: UserId) -> Result<Option<User>, AccountError> {
        Ok(lock(&self.state).users.get(&id).map(|(u, _)| u.clone()))
    }

    async fn find_user_by_login(
        &self,
        username_or_email: &str,
    ) -> Result<Option<User>, AccountError> {
        Ok(lock(&self.state)
            .user_by_login(username_or_email)
            .map(|(u, _)| u.clone()))
    }

    async fn auth_context(
        &self,
        user: UserId,
        tenant: &TenantRef,
    ) -> Result<Option<AuthContext>, AccountError> {
        let state = lock(&self.state);
        let Some((found, _)) = state.users.get(&user) else {
            return Ok(None);
        };
        let membership = match tenant {
            TenantRef::Id(id) => state.membership(*id, user),
            TenantRef::Slug(slug) => state
                .tenants
                .values()
                .find(|t| &t.slug == slug)
                .and_then(|t| state.membership(t.id, user)),
            TenantRef::Default => {
                let all = state.memberships_of(user);
                all.iter()
                    .find(|m| Some(m.tenant_id) == found.home_tenant_id)
                    .or_else(|| all.first())
                    .copied()
            }
        };
        let tenant =
            membership.and_then(|m| state.tenants.get(&m.tenant_id).map(|t| (t.clone(), m.role)));
        Ok(Some(AuthContext {
            user_id: user,
            is_active: found.is_active,
            tenant,
        }))
    }

    async fn tenants_of(&self, user: UserId) -> Result<Vec<TenantWithRole>, AccountError> {
        let state = lock(&self.state);
        Ok(state
            .memberships_of(user)
            .into_iter()
            .filter_map(|m| {
                state.tenants.get(&m.tenant_id).map(|t| TenantWithRole {
                    tenant: t.clone(),
                    role: m.role,
                })
            })
            .collect())
    }

    async fn slug_exists(&self, slug: &str) -> Result<bool, AccountError> {
        Ok(lock(&self.state).slug_taken(slug))
    }

    async fn create_tenant(
        &self,
        tenant: NewTenant,
        owner: UserId,
        max_owned: Option<u32>,
    ) -> Result<Tenant, AccountError> {
        let mut state = lock(&self.state);
        if !state.users.contains_key(&owner) {
            return Err(AccountError::NotFound);
        }
        let owned = state
            .memberships
            .iter()
            .filter(|m| m.user_id == owner && m.role == Role::Owner)
            .count();
        if max_owned.is_some_and(|max| owned >= max as usize) {
            return Err(AccountError::TenantLimitReached);
        }
        if state.slug_taken(tenant.slug.as_str()) {
            return Err(AccountError::SlugTaken);
        }
        let created = tenant_of(&tenant);
        state.tenants.insert(created.id, created.clone());
        state.memberships.push(Membership {
            tenant_id: created.id,
            user_id: owner,
            role: Role::Owner,
            created_at: tenant.created_at,
        });
        Ok(created)
    }

    async fn ensure_tenant(&self, tenant: NewTenant) -> Result<Tenant, AccountError> {
        let mut state = lock(&self.state);
        if let Some(existing) = state
            .tenants
            .values()
            .find(|t| t.slug == tenant.slug.as_str())
        {
            return Ok(existing.clone());
        }
        let created = tenant_of(&tenant);
        state.tenants.insert(created.id, created.clone());
        Ok(created)
    }

    async fn members(&self, tenant: TenantId) -> Result<Vec<Member>, AccountError> {
        let state = lock(&self.state);
        let mut list: Vec<&Membership> = state
            .memberships
            .iter()
            .filter(|m| m.tenant_id == tenant)
            .collect();
        list.sort_by_key(|m| (m.created_at, m.user_id));
        Ok(list.into_iter().filter_map(|m| state.member(m)).collect())
    }

    async fn add_member(
        &self,
        tenant: TenantId,
        user: UserId,
        role: Role,
        at: OffsetDateTime,
    ) -> Result<Member, AccountError> {
        let mut state = lock(&self.state);
        if !state.users.contains_key(&user) || !state.tenants.contains_key(&tenant) {
            return Err(AccountError::NotFound);
        }
        if state.membership(tenant, user).is_some() {
            return Err(AccountError::AlreadyMember);
        }
        let membership = Membership {
            tenant_id: tenant,
            user_id: user,
            role,
            created_at: at,
        };
        let member = state.member(&membership).ok_or(AccountError::NotFound)?;
        state.memberships.push(membership);
        Ok(member)
    }

    async fn change_role(
        &self,
        tenant: TenantId,
        user: UserId,
        role: Role,
    ) -> Result<Member, AccountError> {
        let mut state = lock(&self.state);
        let current = state
            .membership(tenant, user)
            .ok_or(AccountError::NotFound)?
            .role;
        if current == Role::Owner && role != Role::Owner && state.owners(tenant) <= 1 {
            return Err(AccountError::LastOwner);
        }
        let membership = state
            .memberships
            .iter_mut()
            .find(|m| m.tenant_id == tenant && m.user_id == user)
            .ok_or(AccountError::NotFound)?;
        membership.role = role;
        let membership = membership.clone();
        state.member(&membership).ok_or(AccountError::NotFound)
    }

    async fn remove_member(&self, tenant: TenantId, user: UserId) -> Result<(), AccountError> {
        let mut state = lock(&self.state);
        let current = state
            .membership(tenant, user)
            .ok_or(AccountError::NotFound)?
            .role;
        if current == Role::Owner && state.owners(tenant) <= 1 {
            return Err(AccountError::LastOwner);
        }
        state
            .memberships
            .retain(|m| !(m.tenant_id == tenant && m.user_id == user));
        Ok(())
    }

    async fn set_active(&self, user: UserId, active: bool) -> Result<(), AccountError> {
        let mut state = lock(&self.state);
        let (found, _) = state.users.get_mut(&user).ok_or(AccountError::NotFound)?;
        found.is_active = active;
        Ok(())
    }
}
