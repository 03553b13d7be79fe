DROP TABLE tenant_billing;
ALTER TABLE tenant_subscriptions DROP COLUMN last_event_at;
ALTER TABLE tenant_subscriptions DROP COLUMN version;
