-- Health code follow-ups: one open appeal per person (a double submit cannot file two), appeals and
-- the verifier's refresh found by index, the minute pass's due codes, and a round's swabs by area.
CREATE UNIQUE INDEX code_appeals_one_open ON code_appeals (id_number, id_type) WHERE status = 'open';
CREATE INDEX code_appeals_by_person ON code_appeals (id_number, id_type);
CREATE INDEX health_codes_by_computed ON health_codes (computed_at);
CREATE INDEX health_codes_turning ON health_codes (turns_green_at) WHERE turns_green_at IS NOT NULL;
CREATE INDEX samples_by_round_grid ON samples (round_id, grid_code);
CREATE INDEX health_codes_waiting ON health_codes (computed_at) WHERE waits_for_test;
-- A fact found wrong (an accepted appeal, a staff correction) is withdrawn: it stops counting.
ALTER TABLE code_facts ADD COLUMN withdrawn_at BIGINT;
