ALTER TABLE users DROP COLUMN failed_logins, DROP COLUMN failed_since, DROP COLUMN locked_until;
