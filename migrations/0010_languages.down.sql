ALTER TABLE danger_questions DROP COLUMN texts;
ALTER TABLE priorities DROP COLUMN names;
ALTER TABLE dispositions DROP COLUMN names;
ALTER TABLE incident_types DROP COLUMN names;
ALTER TABLE users DROP COLUMN language;
