//! A bulk load drops the residents' lookup indexes; an interrupted one must not leave them missing.
//! Runs on SQLite always and on PostgreSQL when FANGKONG_TEST_POSTGRES holds a URL.

use fangkong_store::{
    ResidentBatch, ResidentWrite, RowOutcome, SearchField, Store, StoreError, WriteMode,
};

fn resident(id_number: &str, household: &str) -> ResidentWrite {
    ResidentWrite {
        id_type: "mainland_id".into(),
        id_number: id_number.into(),
        name: "测试".into(),
        sex: fangkong_domain::person::Sex::Male,
        birth_date: "1990-01-01".into(),
        phone: Some(fangkong_domain::phone::PhoneNumber::parse("13900000000").unwrap()),
        address: "测试地址".into(),
        household_number: household.into(),
        relation: "户主".into(),
        grid_code: "130109110212001".into(),
        key_groups: String::new(),
        content_hash: format!("hash-{id_number}"),
    }
}

async fn index_names(store: &Store) -> Vec<String> {
    let mut names = match store {
        Store::Sqlite(pool) => sqlx::query_scalar::<_, String>(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'residents' AND name LIKE 'residents_by_%'",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
        Store::Postgres(pool) => sqlx::query_scalar::<_, String>(
            "SELECT indexname::text FROM pg_indexes WHERE tablename = 'residents' AND indexname LIKE 'residents_by_%'",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
    };
    names.sort();
    names
}

async fn story(store: Store, reopen: impl AsyncFnOnce() -> Store) {
    let all = index_names(&store).await;
    assert_eq!(
        all.len(),
        5,
        "the migrations create five lookup indexes: {all:?}"
    );
    assert!(store.residents_empty().await.unwrap());

    // A bulk load starts, writes a batch, and "crashes" before rebuilding the indexes.
    store.drop_resident_indexes().await.unwrap();
    assert!(index_names(&store).await.is_empty());
    let batch = ResidentBatch {
        rows: vec![
            resident("130109199001010011", "H-1"),
            resident("130109199001010038", "H-1"),
        ],
    };
    let outcomes = store
        .apply_resident_batch(&batch, 1_000, WriteMode::AllNew, ("", "~"))
        .await
        .unwrap();
    assert_eq!(outcomes, vec![RowOutcome::Inserted, RowOutcome::Inserted]);
    // Meanwhile an ordinary write is refused: it could not be checked against the rows being loaded.
    let edit = ResidentBatch {
        rows: vec![resident("130109199001010011", "H-1")],
    };
    let refused = store
        .apply_resident_batch(&edit, 1_500, WriteMode::Upsert, ("", "~"))
        .await;
    assert!(
        matches!(refused, Err(StoreError::BulkLoadInProgress)),
        "{refused:?}"
    );
    store.close().await;

    let store = reopen().await;
    assert_eq!(
        index_names(&store).await,
        all,
        "opening the store rebuilds the missing indexes"
    );
    let found = store
        .search_residents(
            SearchField::IdNumber,
            "130109199001010011",
            ("130109", "130109:"),
            5,
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    // With the indexes back, the same rows written again are recognised as unchanged.
    let again = store
        .apply_resident_batch(&batch, 2_000, WriteMode::Upsert, ("", "~"))
        .await
        .unwrap();
    assert_eq!(again, vec![RowOutcome::Unchanged, RowOutcome::Unchanged]);
    assert!(!store.residents_empty().await.unwrap());
}

#[tokio::test]
async fn sqlite_an_interrupted_bulk_load_gets_its_indexes_back_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite_dir(dir.path()).await.unwrap();
    let path = dir.path().to_path_buf();
    story(store, async move || {
        Store::open_sqlite_dir(&path).await.unwrap()
    })
    .await;
}

#[tokio::test]
async fn postgres_an_interrupted_bulk_load_gets_its_indexes_back_at_the_next_start() {
    if fangkong_testkit::postgres_url().is_none() {
        eprintln!("PostgreSQL story not run: FANGKONG_TEST_POSTGRES is not set (CI sets it)");
        return;
    }
    // A database of its own, so the story starts from empty tables.
    let database = fangkong_testkit::ScratchDatabase::create().await;
    let store = Store::open_postgres(database.url()).await.unwrap();
    let reopen_url = database.url().to_string();
    story(store, async move || {
        Store::open_postgres(&reopen_url).await.unwrap()
    })
    .await;
}
