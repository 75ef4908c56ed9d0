//! `tongxin import volunteers` as an operator runs it against PostgreSQL: a file with a bad
//! row imports nothing and lists the row; `--skip-bad-rows` imports the good ones.

use sea_orm::{EntityTrait, PaginatorTrait};
use tokio::process::Command;
use tongxin_platform::config::DatabaseSettings;
use tongxin_platform::events::outbox::OutboxWaker;
use tongxin_testing::TestDb;
use tongxin_volunteers::PiiSettings;
use tongxin_volunteers::demo::with_check_character;
use tongxin_volunteers::service::Volunteers;
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_tongxin");

#[tokio::test]
async fn a_broken_file_imports_nothing_and_skipping_imports_the_good_rows() {
    let db = TestDb::new().await;
    let keys = PiiSettings::generate();
    let conn =
        tongxin_platform::db::connect_and_migrate::<tongxin_volunteers::migration::Migrator>(
            &DatabaseSettings::new(db.url()),
        )
        .await
        .expect("db");
    let volunteers = Volunteers::new(
        conn.clone(),
        OutboxWaker::default(),
        keys.cipher().expect("cipher"),
    );
    volunteers
        .remember_unit_details(
            Uuid::now_v7(),
            "/rc/changyuan/hongqiao",
            "虹桥社区",
            (29.39, 105.58),
        )
        .await
        .expect("unit");

    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("register.csv");
    std::fs::write(
        &file,
        format!(
            "姓名,身份证号,手机号,所属单位\n王芳,{},13800000001,\n李强,{},1380000000,虹桥社区\n赵敏,{},13800000003,hongqiao\n",
            with_check_character("50015319880512002"),
            with_check_character("50015319750103001"),
            with_check_character("50015320010909004"),
        ),
    )
    .expect("write");
    let import = |skip: bool| {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(dir.path())
            .args(["import", "volunteers"])
            .arg(&file)
            .args(["--unit", "/rc/changyuan/hongqiao", "--database", db.url()])
            .env("TONGXIN_VOLUNTEERS__PII__ENCRYPTION_KEY", {
                use secrecy::ExposeSecret;
                keys.encryption_key.expose_secret().to_owned()
            })
            .env("TONGXIN_VOLUNTEERS__PII__HASH_KEY", {
                use secrecy::ExposeSecret;
                keys.hash_key.expose_secret().to_owned()
            });
        if skip {
            cmd.arg("--skip-bad-rows");
        }
        cmd.output()
    };
    let count = || async {
        tongxin_volunteers::store::volunteers::Entity::find()
            .count(&conn)
            .await
            .expect("count")
    };

    let out = import(false).await.expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("row 3: 手机号/phone: must have 11 digits"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing imported"), "{stderr}");
    assert_eq!(count().await, 0);

    let out = import(true).await.expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("imported 2 of 3"), "{stdout}");
    assert_eq!(count().await, 2);
}
