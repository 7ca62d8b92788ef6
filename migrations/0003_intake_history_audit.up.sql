-- Intake drafts, history-matching keys and the audit trail.

-- "New call" creates a draft whose received_at is the server's clock at the
-- moment the call was answered; the form carries only the draft's key, so a
-- browser cannot forge the time. The key doubles as the idempotency key of
-- the incident the form creates.
CREATE TABLE intake_drafts (
    key          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      bigint NOT NULL REFERENCES users (id),
    received_at  timestamptz NOT NULL DEFAULT now(),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX intake_drafts_created_idx ON intake_drafts (created_at);

-- Normalised forms of address, phone and names, computed by the application
-- (internal/incident/match.go) on every insert, so that "ul. Chui 12" and
-- "12 CHUI street" or "+996 555 12-34-56" and "0555123456" meet.
ALTER TABLE incidents
    ADD COLUMN address_key text NOT NULL DEFAULT '',
    ADD COLUMN phone_key   text NOT NULL DEFAULT '',
    ADD COLUMN caller_key  text NOT NULL DEFAULT '',
    ADD COLUMN victim_key  text NOT NULL DEFAULT '',
    ADD COLUMN suspect_key text NOT NULL DEFAULT '';
CREATE INDEX incidents_address_key_idx ON incidents (address_key) WHERE address_key <> '';
CREATE INDEX incidents_phone_key_idx ON incidents (phone_key) WHERE phone_key <> '';
CREATE INDEX incidents_caller_key_idx ON incidents (caller_key) WHERE caller_key <> '';
CREATE INDEX incidents_victim_key_idx ON incidents (victim_key) WHERE victim_key <> '';
CREATE INDEX incidents_suspect_key_idx ON incidents (suspect_key) WHERE suspect_key <> '';

-- The audit trail: append-only, each row's hash chained to the previous
-- row's, so that a changed or deleted row is detectable.
CREATE TABLE audit_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL,
    user_id      bigint,
    username     text NOT NULL DEFAULT '',
    role         text NOT NULL DEFAULT '',
    action       text NOT NULL,
    record_type  text NOT NULL DEFAULT '',
    record_id    text NOT NULL DEFAULT '',
    source_ip    text NOT NULL DEFAULT '',
    outcome      text NOT NULL DEFAULT 'ok',
    detail       jsonb NOT NULL DEFAULT '{}',
    prev_hash    bytea NOT NULL,
    hash         bytea NOT NULL
);
CREATE INDEX audit_events_record_idx ON audit_events (record_type, record_id);
CREATE INDEX audit_events_user_idx ON audit_events (user_id, at);
CREATE INDEX audit_events_at_idx ON audit_events (at);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END $$;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
