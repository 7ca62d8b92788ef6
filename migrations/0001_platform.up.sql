-- Platform: accounts, sessions and the reference data admins manage.
-- Identifiers are bigint identities; codes are unique, case-insensitive where
-- people type them. Length checks mirror the validation in Go so that the
-- database refuses what the application would refuse.

CREATE TABLE districts (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code       text NOT NULL CHECK (code ~ '^[A-Z0-9][A-Z0-9_-]{0,15}$'),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    active     boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT districts_code_key UNIQUE (code)
);

CREATE TABLE settlements (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    district_id bigint NOT NULL REFERENCES districts (id),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    is_idp      boolean NOT NULL DEFAULT false,
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT settlements_district_name_key UNIQUE (district_id, name)
);

CREATE TABLE units (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_sign   text NOT NULL CHECK (call_sign ~ '^[A-Z0-9][A-Z0-9 _-]{0,19}$'),
    district_id bigint NOT NULL REFERENCES districts (id),
    status      text NOT NULL DEFAULT 'available'
                CHECK (status IN ('available', 'dispatched', 'en_route', 'on_scene', 'busy', 'off_duty')),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT units_call_sign_key UNIQUE (call_sign)
);

CREATE TABLE incident_types (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code       text NOT NULL CHECK (code ~ '^[A-Z0-9][A-Z0-9_-]{0,31}$'),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    is_dv      boolean NOT NULL DEFAULT false,
    active     boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT incident_types_code_key UNIQUE (code)
);

-- Priorities: level 1 is the most urgent. Each interval of DESIGN.md
-- section 3 may carry a target in seconds; NULL means "no target".
CREATE TABLE priorities (
    level                     integer PRIMARY KEY CHECK (level BETWEEN 1 AND 9),
    label                     text NOT NULL CHECK (length(label) BETWEEN 1 AND 60),
    target_call_processing_s  integer CHECK (target_call_processing_s > 0),
    target_turnout_s          integer CHECK (target_turnout_s > 0),
    target_travel_s           integer CHECK (target_travel_s > 0),
    target_response_s         integer CHECK (target_response_s > 0),
    target_on_scene_s         integer CHECK (target_on_scene_s > 0),
    target_total_s            integer CHECK (target_total_s > 0),
    created_at                timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dispositions (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code       text NOT NULL CHECK (code ~ '^[A-Z0-9][A-Z0-9_-]{0,31}$'),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    active     boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT dispositions_code_key UNIQUE (code)
);

CREATE TABLE partner_orgs (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 150),
    kind       text NOT NULL CHECK (kind IN ('shelter', 'crisis_centre', 'legal_aid', 'medical', 'psychosocial', 'child_services')),
    district_id bigint REFERENCES districts (id),
    contact    text NOT NULL DEFAULT '' CHECK (length(contact) <= 500),
    active     boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT partner_orgs_name_key UNIQUE (name)
);

CREATE TABLE users (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username       text NOT NULL CHECK (username ~ '^[a-z0-9][a-z0-9._-]{1,39}$'),
    full_name      text NOT NULL DEFAULT '' CHECK (length(full_name) <= 100),
    role           text NOT NULL CHECK (role IN ('dispatcher', 'officer', 'supervisor', 'admin')),
    district_id    bigint REFERENCES districts (id),
    unit_id        bigint REFERENCES units (id),
    password_hash  text NOT NULL,
    -- Bumped whenever every existing session of the user must end
    -- (disabled, password changed, role changed, sessions ended by an admin).
    session_epoch  integer NOT NULL DEFAULT 1,
    disabled_at    timestamptz,
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_username_key UNIQUE (username)
);

-- Sessions, in the layout alexedwards/scs's pgxstore expects.
CREATE TABLE sessions (
    token  text PRIMARY KEY,
    data   bytea NOT NULL,
    expiry timestamptz NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);
