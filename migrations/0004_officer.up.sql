-- The officer's work: danger screens, protection orders, referrals and
-- corrections of stage times.

-- Settings an administrator changes in the web UI (one row per key).
CREATE TABLE app_settings (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- High danger: any critical question answered yes, or at least this many yes.
INSERT INTO app_settings (key, value) VALUES ('danger_threshold', '4');

-- Danger-screen questions. Answers store the question's wording as it was
-- asked, so editing a question never changes a past screen.
CREATE TABLE danger_questions (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    position   integer NOT NULL CHECK (position BETWEEN 1 AND 999),
    text       text NOT NULL CHECK (length(text) BETWEEN 1 AND 300),
    critical   boolean NOT NULL DEFAULT false,
    active     boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The default screen, in our own words (not a licensed instrument's text).
INSERT INTO danger_questions (position, text, critical) VALUES
    (1,  'Has the other person ever used a weapon against you, or threatened you with one?', true),
    (2,  'Has the other person threatened to kill you, your children or someone close to you?', true),
    (3,  'Do you think the other person could kill you?', true),
    (4,  'Has the other person ever choked you, strangled you or held something over your mouth or nose?', true),
    (5,  'Has the violence happened more often, or got worse, over the last months?', false),
    (6,  'Can the other person easily get a gun or another weapon?', false),
    (7,  'Have you recently separated from the other person, or tried to leave?', false),
    (8,  'Does the other person control most of what you do, or show constant jealousy?', false),
    (9,  'Has the other person threatened or tried to take their own life?', false),
    (10, 'Has the other person hurt or threatened the children?', false),
    (11, 'Is the other person often drunk or on drugs when violent?', false);

CREATE TABLE danger_screens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id  bigint NOT NULL REFERENCES incidents (id),
    done_at      timestamptz NOT NULL DEFAULT now(),
    done_by      bigint REFERENCES users (id),
    -- [{"question_id":1,"text":"...","critical":true,"answer":"yes"|"no"|"unknown"}]
    answers      jsonb NOT NULL,
    yes_count    integer NOT NULL,
    threshold    integer NOT NULL,
    high_danger  boolean NOT NULL
);
CREATE INDEX danger_screens_incident_idx ON danger_screens (incident_id);

-- Protection orders issued by police (Kyrgyzstan: temporary protection
-- order; Georgia: restraining order), and court orders recorded by police.
CREATE TABLE protection_orders (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number           text NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('temporary', 'restraining', 'court')),
    incident_id      bigint REFERENCES incidents (id),
    district_id      bigint REFERENCES districts (id),
    protected_name   text NOT NULL CHECK (length(protected_name) BETWEEN 1 AND 150),
    restrained_name  text NOT NULL CHECK (length(restrained_name) BETWEEN 1 AND 150),
    address          text NOT NULL DEFAULT '' CHECK (length(address) <= 300),
    conditions       text NOT NULL DEFAULT '' CHECK (length(conditions) <= 2000),
    starts_at        timestamptz NOT NULL,
    ends_at          timestamptz NOT NULL,
    issued_by        bigint REFERENCES users (id),
    issued_at        timestamptz NOT NULL DEFAULT now(),
    ended_at         timestamptz,
    end_reason       text NOT NULL DEFAULT '' CHECK (length(end_reason) <= 500),
    extensions       integer NOT NULL DEFAULT 0,
    address_key      text NOT NULL DEFAULT '',
    protected_key    text NOT NULL DEFAULT '',
    restrained_key   text NOT NULL DEFAULT '',
    CONSTRAINT protection_orders_number_key UNIQUE (number),
    CONSTRAINT protection_orders_dates CHECK (ends_at > starts_at)
);
CREATE SEQUENCE protection_order_number_seq;
CREATE INDEX protection_orders_active_idx ON protection_orders (ends_at) WHERE ended_at IS NULL;
CREATE INDEX protection_orders_address_key_idx ON protection_orders (address_key) WHERE address_key <> '';
CREATE INDEX protection_orders_protected_key_idx ON protection_orders (protected_key) WHERE protected_key <> '';
CREATE INDEX protection_orders_restrained_key_idx ON protection_orders (restrained_key) WHERE restrained_key <> '';

-- An incident reporting a violation links to the order violated.
ALTER TABLE incidents ADD COLUMN protection_order_id bigint REFERENCES protection_orders (id);

-- Referrals of a victim to partner organisations, with consent and a
-- status lifecycle: offered -> accepted | declined; accepted -> sent ->
-- acknowledged -> closed; declined -> closed.
CREATE TABLE referrals (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id      bigint NOT NULL REFERENCES incidents (id),
    partner_id       bigint NOT NULL REFERENCES partner_orgs (id),
    consent          text NOT NULL DEFAULT 'pending' CHECK (consent IN ('pending', 'given', 'declined', 'overridden')),
    override_reason  text NOT NULL DEFAULT '' CHECK (length(override_reason) <= 500),
    status           text NOT NULL DEFAULT 'offered'
                     CHECK (status IN ('offered', 'accepted', 'declined', 'sent', 'acknowledged', 'closed')),
    offered_at       timestamptz NOT NULL DEFAULT now(),
    offered_by       bigint REFERENCES users (id),
    accepted_at      timestamptz,
    declined_at      timestamptz,
    sent_at          timestamptz,
    acknowledged_at  timestamptz,
    closed_at        timestamptz,
    updated_by       bigint REFERENCES users (id),
    notes            text NOT NULL DEFAULT '' CHECK (length(notes) <= 1000),
    CONSTRAINT referrals_override_has_reason CHECK (consent <> 'overridden' OR length(override_reason) > 0),
    CONSTRAINT referrals_sent_needs_consent CHECK (sent_at IS NULL OR consent IN ('given', 'overridden'))
);
CREATE INDEX referrals_open_idx ON referrals (partner_id, offered_at) WHERE closed_at IS NULL;
CREATE INDEX referrals_incident_idx ON referrals (incident_id);

-- How many times a supervisor corrected a stage time of the incident (the
-- original values stay in incident_events as 'correction' events).
ALTER TABLE incidents ADD COLUMN corrections integer NOT NULL DEFAULT 0;

-- Idempotency of officers' status buttons: a retried request with the same
-- key is answered with the first result.
CREATE TABLE stage_requests (
    key          uuid PRIMARY KEY,
    incident_id  bigint NOT NULL REFERENCES incidents (id),
    stage        text NOT NULL,
    user_id      bigint REFERENCES users (id),
    at           timestamptz NOT NULL DEFAULT now()
);
