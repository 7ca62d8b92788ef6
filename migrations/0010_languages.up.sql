-- Languages: each user's own language (NULL: the deployment's default), and
-- a name per language for the labels administrators configure. A missing
-- language falls back to the record's plain name.
ALTER TABLE users ADD COLUMN language text
    CHECK (language IN ('en', 'ru', 'ky', 'ka'));

ALTER TABLE incident_types ADD COLUMN names jsonb NOT NULL DEFAULT '{}'::jsonb
    CHECK (jsonb_typeof(names) = 'object');
ALTER TABLE dispositions ADD COLUMN names jsonb NOT NULL DEFAULT '{}'::jsonb
    CHECK (jsonb_typeof(names) = 'object');
ALTER TABLE priorities ADD COLUMN names jsonb NOT NULL DEFAULT '{}'::jsonb
    CHECK (jsonb_typeof(names) = 'object');
ALTER TABLE danger_questions ADD COLUMN texts jsonb NOT NULL DEFAULT '{}'::jsonb
    CHECK (jsonb_typeof(texts) = 'object');
