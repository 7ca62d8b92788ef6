ALTER TABLE incidents DROP COLUMN address_confidential;
