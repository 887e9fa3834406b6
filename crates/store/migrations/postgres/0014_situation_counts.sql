-- The situation picture's counters (态势计数): people under measures, codes by colour and checkpoint
-- passages, per grid (or checkpoint region) — so the command picture of a city sums a few thousand
-- counter rows instead of counting millions of records. Triggers move them in the same transaction
-- as every write of the counted rows, whichever code path writes them; `fangkong check` compares
-- them with the rows. Append-only.

-- Measures per (grid, category, status).
CREATE TABLE measure_counts (
    grid_code TEXT COLLATE "C" NOT NULL,
    category  TEXT COLLATE "C" NOT NULL,
    status    TEXT COLLATE "C" NOT NULL,
    n         BIGINT NOT NULL,
    PRIMARY KEY (grid_code, category, status)
);
INSERT INTO measure_counts (grid_code, category, status, n)
SELECT grid_code, category, status, COUNT(*) FROM isolation_measures GROUP BY grid_code, category, status;

CREATE FUNCTION measure_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.grid_code = NEW.grid_code AND OLD.category = NEW.category
        AND OLD.status = NEW.status THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE measure_counts SET n = n - 1
        WHERE grid_code = OLD.grid_code AND category = OLD.category AND status = OLD.status;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO measure_counts (grid_code, category, status, n)
        VALUES (NEW.grid_code, NEW.category, NEW.status, 1)
        ON CONFLICT (grid_code, category, status) DO UPDATE SET n = measure_counts.n + 1;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER measure_counts_move AFTER INSERT OR DELETE OR UPDATE OF grid_code, category, status
ON isolation_measures FOR EACH ROW EXECUTE FUNCTION measure_counts_move();

-- Current codes per (grid, colour, with a pop-up or not); anyone without a row is plain green.
CREATE TABLE code_counts (
    grid_code TEXT COLLATE "C" NOT NULL,
    colour    TEXT COLLATE "C" NOT NULL,
    popup     BIGINT NOT NULL,           -- 1: the code shows a pop-up
    n         BIGINT NOT NULL,
    PRIMARY KEY (grid_code, colour, popup)
);
INSERT INTO code_counts (grid_code, colour, popup, n)
SELECT grid_code, colour, CASE WHEN popup IS NULL THEN 0 ELSE 1 END, COUNT(*) FROM health_codes
GROUP BY 1, 2, 3;

CREATE FUNCTION code_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.grid_code = NEW.grid_code AND OLD.colour = NEW.colour
        AND (OLD.popup IS NULL) = (NEW.popup IS NULL) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE code_counts SET n = n - 1
        WHERE grid_code = OLD.grid_code AND colour = OLD.colour
        AND popup = CASE WHEN OLD.popup IS NULL THEN 0 ELSE 1 END;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO code_counts (grid_code, colour, popup, n)
        VALUES (NEW.grid_code, NEW.colour, CASE WHEN NEW.popup IS NULL THEN 0 ELSE 1 END, 1)
        ON CONFLICT (grid_code, colour, popup) DO UPDATE SET n = code_counts.n + 1;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER code_counts_move AFTER INSERT OR DELETE OR UPDATE OF grid_code, colour, popup
ON health_codes FOR EACH ROW EXECUTE FUNCTION code_counts_move();

-- Passages per (checkpoint's region, Beijing day as days since 1970-01-01, decision).
CREATE TABLE passage_counts (
    region_code TEXT COLLATE "C" NOT NULL,
    day         BIGINT NOT NULL,
    decision    TEXT COLLATE "C" NOT NULL,
    n           BIGINT NOT NULL,
    PRIMARY KEY (region_code, day, decision)
);
INSERT INTO passage_counts (region_code, day, decision, n)
SELECT c.region_code, (p.at + 28800) / 86400, p.decision, COUNT(*)
FROM passages p JOIN checkpoints c ON c.id = p.checkpoint_id GROUP BY 1, 2, 3;

CREATE FUNCTION passage_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO passage_counts (region_code, day, decision, n)
    SELECT c.region_code, (NEW.at + 28800) / 86400, NEW.decision, 1 FROM checkpoints c
    WHERE c.id = NEW.checkpoint_id
    ON CONFLICT (region_code, day, decision) DO UPDATE SET n = passage_counts.n + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER passage_counts_move AFTER INSERT ON passages
FOR EACH ROW EXECUTE FUNCTION passage_counts_move();

-- The day's new cases for the picture: cases found in a time window.
CREATE INDEX cases_by_found_at ON cases (found_at);
