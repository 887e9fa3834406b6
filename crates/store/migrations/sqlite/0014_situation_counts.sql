-- The situation picture's counters (态势计数): people under measures, codes by colour and checkpoint
-- passages, per grid (or checkpoint region) — so the command picture of a city sums a few thousand
-- counter rows instead of counting millions of records. Triggers move them in the same transaction
-- as every write of the counted rows, whichever code path writes them; `fangkong check` compares
-- them with the rows. Append-only.

-- Measures per (grid, category, status).
CREATE TABLE measure_counts (
    grid_code TEXT NOT NULL,
    category  TEXT NOT NULL,
    status    TEXT NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (grid_code, category, status)
);
INSERT INTO measure_counts (grid_code, category, status, n)
SELECT grid_code, category, status, COUNT(*) FROM isolation_measures GROUP BY grid_code, category, status;

CREATE TRIGGER measure_counts_on_insert AFTER INSERT ON isolation_measures BEGIN
    INSERT INTO measure_counts (grid_code, category, status, n)
    VALUES (NEW.grid_code, NEW.category, NEW.status, 1)
    ON CONFLICT (grid_code, category, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER measure_counts_on_update AFTER UPDATE OF grid_code, category, status ON isolation_measures
WHEN OLD.grid_code <> NEW.grid_code OR OLD.category <> NEW.category OR OLD.status <> NEW.status BEGIN
    UPDATE measure_counts SET n = n - 1
    WHERE grid_code = OLD.grid_code AND category = OLD.category AND status = OLD.status;
    INSERT INTO measure_counts (grid_code, category, status, n)
    VALUES (NEW.grid_code, NEW.category, NEW.status, 1)
    ON CONFLICT (grid_code, category, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER measure_counts_on_delete AFTER DELETE ON isolation_measures BEGIN
    UPDATE measure_counts SET n = n - 1
    WHERE grid_code = OLD.grid_code AND category = OLD.category AND status = OLD.status;
END;

-- Current codes per (grid, colour, with a pop-up or not); anyone without a row is plain green.
CREATE TABLE code_counts (
    grid_code TEXT NOT NULL,
    colour    TEXT NOT NULL,
    popup     INTEGER NOT NULL,          -- 1: the code shows a pop-up
    n         INTEGER NOT NULL,
    PRIMARY KEY (grid_code, colour, popup)
);
INSERT INTO code_counts (grid_code, colour, popup, n)
SELECT grid_code, colour, CASE WHEN popup IS NULL THEN 0 ELSE 1 END, COUNT(*) FROM health_codes
GROUP BY 1, 2, 3;

CREATE TRIGGER code_counts_on_insert AFTER INSERT ON health_codes BEGIN
    INSERT INTO code_counts (grid_code, colour, popup, n)
    VALUES (NEW.grid_code, NEW.colour, NEW.popup IS NOT NULL, 1)
    ON CONFLICT (grid_code, colour, popup) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER code_counts_on_update AFTER UPDATE OF grid_code, colour, popup ON health_codes
WHEN OLD.grid_code <> NEW.grid_code OR OLD.colour <> NEW.colour
    OR (OLD.popup IS NULL) <> (NEW.popup IS NULL) BEGIN
    UPDATE code_counts SET n = n - 1
    WHERE grid_code = OLD.grid_code AND colour = OLD.colour AND popup = (OLD.popup IS NOT NULL);
    INSERT INTO code_counts (grid_code, colour, popup, n)
    VALUES (NEW.grid_code, NEW.colour, NEW.popup IS NOT NULL, 1)
    ON CONFLICT (grid_code, colour, popup) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER code_counts_on_delete AFTER DELETE ON health_codes BEGIN
    UPDATE code_counts SET n = n - 1
    WHERE grid_code = OLD.grid_code AND colour = OLD.colour AND popup = (OLD.popup IS NOT NULL);
END;

-- Passages per (checkpoint's region, Beijing day as days since 1970-01-01, decision).
CREATE TABLE passage_counts (
    region_code TEXT NOT NULL,
    day         INTEGER NOT NULL,
    decision    TEXT NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (region_code, day, decision)
);
INSERT INTO passage_counts (region_code, day, decision, n)
SELECT c.region_code, (p.at + 28800) / 86400, p.decision, COUNT(*)
FROM passages p JOIN checkpoints c ON c.id = p.checkpoint_id GROUP BY 1, 2, 3;

CREATE TRIGGER passage_counts_on_insert AFTER INSERT ON passages BEGIN
    INSERT INTO passage_counts (region_code, day, decision, n)
    SELECT c.region_code, (NEW.at + 28800) / 86400, NEW.decision, 1 FROM checkpoints c
    WHERE c.id = NEW.checkpoint_id
    ON CONFLICT (region_code, day, decision) DO UPDATE SET n = n + 1;
END;

-- The day's new cases for the picture: cases found in a time window.
CREATE INDEX cases_by_found_at ON cases (found_at);
