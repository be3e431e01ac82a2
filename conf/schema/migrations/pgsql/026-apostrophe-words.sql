-- 026: a name with an apostrophe is also found by the part after it (Brien of O'Brien),
-- so "o brien", typed with a space, finds it as "obrien" and "o'b" do. Those clients'
-- search keys are computed again (sort_key NULL is the "keys missing" mark:
-- portal-manager-admin init does it after the migrations, or the module on the next
-- list or search); every other client's keys stay as they are.
UPDATE clients SET sort_key = NULL
 WHERE first_name LIKE '%''%' OR last_name LIKE '%''%'
    OR first_name LIKE '%’%' OR last_name LIKE '%’%'
    OR first_name LIKE '%‘%' OR last_name LIKE '%‘%'
    OR first_name LIKE '%ʼ%' OR last_name LIKE '%ʼ%';
