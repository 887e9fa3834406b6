-- A case's sex is the resident register's code (M/F), as residents hold it. Cases made from a
-- mainland ID card were stored with the Chinese label (男/女) and the others with the code, so the
-- same field read two ways on the pages and in the public bulletin ("病例1：M").
UPDATE cases SET sex = 'M' WHERE sex = '男';
UPDATE cases SET sex = 'F' WHERE sex = '女';
