//! Importing a district's register from CSV and xlsx: good files, broken files (nothing
//! stored), and --skip-bad-rows (only the good rows).

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::json;
use tongxin_volunteers::import::{ImportOptions, ImportReport, Quiet, read_file};

use crate::vsupport::register;
use crate::{TestApp, id_card, units};

const HEADER: &str = "姓名,性别,出生日期,身份证号,手机号,所属单位,技能,服务时间,经度,纬度";

async fn with_units(app: &TestApp) {
    app.volunteers
        .remember_unit_details(
            units::id(units::HONGQIAO),
            units::HONGQIAO,
            "虹桥社区新时代文明实践站",
            (29.3921, 105.5782),
        )
        .await
        .expect("unit");
}

async fn import(app: &TestApp, path: &std::path::Path, skip: bool) -> ImportReport {
    let rows = read_file(path).expect("readable");
    app.volunteers
        .import(
            rows,
            &ImportOptions {
                skip_bad_rows: skip,
                default_unit: None,
                actor: "import:test".to_owned(),
            },
            &Quiet,
        )
        .await
        .expect("import")
}

async fn registered_events(app: &TestApp) -> i64 {
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM outbox_events WHERE subject = 'tongxin.volunteers.volunteer_registered'",
        ))
        .await
        .expect("count");
    rows[0].try_get("", "n").expect("n")
}

fn good_rows() -> Vec<String> {
    vec![
        format!(
            "王芳,女,1988-05-12,{},13800000001,/rc/changyuan/hongqiao,法律、助老,Sat-Sun 09:00-12:00,105.59,29.40",
            id_card("50015319880512002")
        ),
        // By unit name, without coordinates: placed at the unit.
        format!(
            "李强,男,1975/1/3,{},138 0000 0002,虹桥社区新时代文明实践站,repair,Mon-Fri 18:00-21:00,,",
            id_card("50015319750103001")
        ),
        // By path segment, no gender/birth columns filled, no skills.
        format!(
            "赵敏,,,{},+86 13800000003,hongqiao,,,,",
            id_card("50015320010909004")
        ),
    ]
}

#[tokio::test]
async fn a_good_csv_file_is_imported_whole() {
    let app = TestApp::spawn().await;
    with_units(&app).await;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("register.csv");
    std::fs::write(
        &path,
        format!("\u{feff}{HEADER}\n{}\n", good_rows().join("\n")),
    )
    .expect("write");

    let report = import(&app, &path, false).await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!((report.rows, report.imported), (3, 3));
    assert_eq!(app.volunteer_count().await, 3);
    assert_eq!(registered_events(&app).await, 3);
    let staff = app.staff(units::HONGQIAO);
    let r = app
        .graphql(
            Some(&staff),
            "{ volunteers(first: 10) { edges { node { name phone skills location { lat lon } homeUnitPath gender } } } }",
            json!({}),
        )
        .await;
    let edges = r["data"]["volunteers"]["edges"]
        .as_array()
        .expect("edges")
        .clone();
    let by_name = |n: &str| {
        edges
            .iter()
            .find(|e| e["node"]["name"] == n)
            .unwrap_or_else(|| panic!("{n} in {r}"))["node"]
            .clone()
    };
    let wang = by_name("王芳");
    assert_eq!(wang["skills"], json!(["legal", "elder_care"]));
    assert_eq!(wang["gender"], "FEMALE");
    assert_eq!(wang["location"]["lat"], 29.40);
    let li = by_name("李强");
    assert_eq!(li["phone"], "13800000002");
    assert_eq!(li["location"]["lat"], 29.3921, "placed at the unit");
    assert_eq!(by_name("赵敏")["homeUnitPath"], units::HONGQIAO);
    // Imported volunteers are matchable at once.
    let found = app.volunteers.matcher().len();
    assert_eq!(found, 3);
    app.stop().await;
}

#[tokio::test]
async fn a_broken_csv_file_stores_nothing_unless_bad_rows_are_skipped() {
    let app = TestApp::spawn().await;
    with_units(&app).await;
    // Someone already registered.
    register(&app, 7, (29.4, 105.59), &["legal"], "").await;
    let taken = id_card("50015319900307007");
    let mut rows = good_rows();
    rows.extend([
        // 5: checksum wrong.
        format!(
            "错号,男,,{}0,13800000005,/rc/changyuan/hongqiao,,,,",
            &id_card("50015319900101005")[..17]
        ),
        // 6: the same number as row 2.
        format!(
            "重复,,,{},13800000006,/rc/changyuan/hongqiao,,,,",
            id_card("50015319880512002")
        ),
        // 7: phone with 10 digits, and a skill nobody knows.
        format!(
            "短号,,,{},1380000007,/rc/changyuan/hongqiao,杂耍,,,",
            id_card("50015319900101013")
        ),
        // 8: a unit nobody knows.
        format!(
            "无单位,,,{},13800000008,/rc/nowhere,,,,",
            id_card("50015319900101021")
        ),
        // 9: already registered.
        format!("已登记,,,{taken},13800000009,/rc/changyuan/hongqiao,,,,"),
        // 10: gender disagrees with the ID-card number.
        format!(
            "性别错,女,,{},13800000010,/rc/changyuan/hongqiao,,,,",
            id_card("50015319900101031")
        ),
    ]);
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("register.csv");
    std::fs::write(&path, format!("{HEADER}\n{}\n", rows.join("\n"))).expect("write");

    let report = import(&app, &path, false).await;
    assert_eq!(report.imported, 0);
    let bad_rows: Vec<usize> = report.errors.iter().map(|e| e.row).collect();
    assert_eq!(bad_rows, vec![5, 6, 7, 7, 8, 9, 10], "{:?}", report.errors);
    let text: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
    assert!(text[0].contains("check character"), "{text:?}");
    assert!(text[1].contains("already on row 2"), "{text:?}");
    assert!(
        text.iter()
            .any(|t| t.contains("手机号") && t.contains("11 digits")),
        "{text:?}"
    );
    assert!(text.iter().any(|t| t.contains("技能")), "{text:?}");
    assert!(text[4].contains("unknown unit"), "{text:?}");
    assert!(text[5].contains("already registered"), "{text:?}");
    assert!(text[6].contains("性别"), "{text:?}");
    assert_eq!(app.volunteer_count().await, 1, "nothing imported");
    assert_eq!(registered_events(&app).await, 1);

    let report = import(&app, &path, true).await;
    assert_eq!(report.imported, 3);
    assert_eq!(app.volunteer_count().await, 4, "only the good rows");
    assert_eq!(registered_events(&app).await, 4);
    app.stop().await;
}

fn write_xlsx(path: &std::path::Path, broken: bool) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in [
        "name",
        "ID card number",
        "phone",
        "unit",
        "skills",
        "availability",
        "birth_date",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(0, c as u16, *h).expect("header");
    }
    let people = [
        (
            "周杰",
            id_card("50015319920202011"),
            13800000021.0,
            "Sat 09:00-12:00",
        ),
        (
            "吴娟",
            id_card("50015319930303022"),
            13800000022.0,
            "Sun 09:00-12:00",
        ),
    ];
    let date = rust_xlsxwriter::ExcelDateTime::from_ymd(1992, 2, 2).expect("date");
    for (r, (name, id, phone, when)) in people.iter().enumerate() {
        let r = r as u32 + 1;
        sheet.write_string(r, 0, *name).expect("cell");
        sheet.write_string(r, 1, id).expect("cell");
        // Phones typed as numbers, as spreadsheets do.
        sheet.write_number(r, 2, *phone).expect("cell");
        sheet.write_string(r, 3, units::HONGQIAO).expect("cell");
        sheet.write_string(r, 4, "medical").expect("cell");
        sheet.write_string(r, 5, *when).expect("cell");
        if r == 1 {
            sheet
                .write_datetime_with_format(
                    r,
                    6,
                    &date,
                    &rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd"),
                )
                .expect("date");
        }
    }
    if broken {
        // An ID-card number typed as a number (digits lost) and a bad availability.
        sheet.write_string(3, 0, "孙涛").expect("cell");
        sheet
            .write_number(3, 1, 500153199404040000.0)
            .expect("cell");
        sheet.write_number(3, 2, 13800000023.0).expect("cell");
        sheet.write_string(3, 3, units::HONGQIAO).expect("cell");
        sheet.write_string(3, 5, "whenever").expect("cell");
    }
    book.save(path).expect("save");
}

#[tokio::test]
async fn xlsx_files_good_and_broken() {
    let app = TestApp::spawn().await;
    with_units(&app).await;
    let dir = tempfile::tempdir().expect("dir");
    let broken = dir.path().join("broken.xlsx");
    write_xlsx(&broken, true);
    let report = import(&app, &broken, false).await;
    assert_eq!(report.imported, 0);
    let fields: Vec<(usize, &str)> = report
        .errors
        .iter()
        .map(|e| (e.row, e.field.as_str()))
        .collect();
    assert_eq!(
        fields,
        vec![(4, "身份证号/id_card_number"), (4, "服务时间/availability")],
        "{:?}",
        report.errors
    );
    assert!(report.errors[0].message.contains("as text"));
    assert_eq!(app.volunteer_count().await, 0, "nothing stored");

    let report = import(&app, &broken, true).await;
    assert_eq!((report.rows, report.imported), (3, 2));
    assert_eq!(app.volunteer_count().await, 2);

    // A good workbook (new people) goes in whole.
    let app2 = TestApp::spawn().await;
    with_units(&app2).await;
    let good = dir.path().join("good.xlsx");
    write_xlsx(&good, false);
    let report = import(&app2, &good, false).await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.imported, 2);
    assert_eq!(app2.volunteer_count().await, 2);
    app.stop().await;
    app2.stop().await;
}
