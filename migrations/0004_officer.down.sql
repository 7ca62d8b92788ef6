DROP TABLE stage_requests;
ALTER TABLE incidents DROP COLUMN corrections;
DROP TABLE referrals;
ALTER TABLE incidents DROP COLUMN protection_order_id;
DROP TABLE protection_orders;
DROP SEQUENCE protection_order_number_seq;
DROP TABLE danger_screens;
DROP TABLE danger_questions;
DROP TABLE app_settings;
