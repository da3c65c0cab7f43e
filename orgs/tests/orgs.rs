//! The organisations service against a real platform, on SQLite and on PostgreSQL.
//!
//! Each test runs once per backend (`sqlite_*`, `postgres_*`). A PostgreSQL test creates a
//! database of its own on `HUB_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and drops it afterwards; when the server is
//! unreachable the PostgreSQL tests fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use orgs::{
    Decision, MemberRole, MemberStatus, NewOrganisation, OrgError, OrgFilter, OrgKind, OrgStatus,
    Orgs, Page, PortalRole,
};
use platform::Platform;
use platform::admin::{Principal, Role, Who};
use platform::clock::ManualClock;
use platform::config::Secret;
use platform::config::raw::RawPlatform;
use platform::context::RequestContext;
use platform::http::metrics::Metrics;
use platform::http::problem::{ApiError, ErrorCode};
use platform::with_pool;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

fn postgres_admin_url() -> String {
    std::env::var("HUB_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn random_hex(bytes: usize) -> String {
    let mut out = String::new();
    while out.len() < bytes * 2 {
        out.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    out.truncate(bytes * 2);
    out
}

fn with_database(url: &str, db: &str) -> String {
    match url.rfind('/') {
        Some(i) if i > "postgres://".len() => format!("{}/{db}", &url[..i]),
        _ => format!("{url}/{db}"),
    }
}

/// A platform on a fresh store, and what to remove afterwards.
struct Env {
    platform: Platform,
    audit_task: tokio::task::JoinHandle<()>,
    orgs: Orgs,
    pg_database: Option<String>,
    _dir: tempfile::TempDir,
}

impl Env {
    async fn open(backend: Backend) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let mut raw = RawPlatform {
            data_dir: Some(dir.path().to_path_buf()),
            ..RawPlatform::default()
        };
        let mut pg_database = None;
        if backend == Backend::Postgres {
            let admin = postgres_admin_url();
            let pool = sqlx::PgPool::connect(&admin).await.unwrap_or_else(|e| {
                panic!("PostgreSQL is unreachable at {admin} ({e}): start it or set HUB_TEST_POSTGRES_URL")
            });
            let name = format!("orgs_t_{}", uuid::Uuid::new_v4().simple());
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
            raw.database.url = Some(Secret::new(with_database(&admin, &name)));
            raw.audit.hmac_key = Some(Secret::new(random_hex(32)));
            raw.crypto.data_key = Some(Secret::new(random_hex(16)));
            raw.crypto.index_key = Some(Secret::new(random_hex(32)));
            pg_database = Some(name);
        }
        let mut layered = platform::config::Layered::default();
        let config = platform::config::validate(raw, &mut layered);
        assert!(layered.problems.is_empty(), "{:?}", layered.problems);
        let (platform, audit_task) =
            Platform::open(config, ManualClock::at_system_now(), true, Metrics::new())
                .await
                .unwrap();
        let orgs = Orgs::new(&platform);
        Env {
            platform,
            audit_task,
            orgs,
            pg_database,
            _dir: dir,
        }
    }

    async fn close(self) {
        self.platform.close(self.audit_task).await;
        if let Some(name) = self.pg_database {
            let pool = sqlx::PgPool::connect(&postgres_admin_url()).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&pool)
            .await
            .unwrap();
            pool.close().await;
        }
    }

    /// An account as a sign-in would have made it.
    async fn account(&self, kind: &str, name: &str) -> String {
        let id = uuid::Uuid::now_v7().to_string();
        let now = self.platform.clock.now().0;
        with_pool!(self.platform.db.write(), |p| {
            sqlx::query("INSERT INTO accounts (id, kind, display_name, status, created_at, updated_at) VALUES ($1, $2, $3, 'active', $4, $4)")
                .bind(&id)
                .bind(kind)
                .bind(name)
                .bind(now)
                .execute(p)
                .await
                .map(|_| ())
        })
        .unwrap();
        id
    }

    async fn person(&self, name: &str) -> String {
        self.account("personal", name).await
    }

    async fn scalar(&self, sql: &str, arg: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        with_pool!(self.platform.db.read(), |p| {
            sqlx::query_scalar(sql).bind(arg).fetch_one(p).await
        })
        .unwrap()
    }

    async fn audited(&self, event: &str) -> i64 {
        self.scalar("SELECT COUNT(*) FROM audit_log WHERE event = $1", event)
            .await
    }

    async fn audited_for(&self, event: &str, org_id: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(
            "SELECT COUNT(*) FROM audit_log WHERE event = $1 AND target = $2".to_owned(),
        );
        let target = format!("org:{org_id}");
        with_pool!(self.platform.db.read(), |p| {
            sqlx::query_scalar(sql)
                .bind(event)
                .bind(&target)
                .fetch_one(p)
                .await
        })
        .unwrap()
    }
}

fn ctx() -> RequestContext {
    RequestContext {
        request_id: Some("test-1".into()),
        ..RequestContext::default()
    }
}

fn admin(role: Role) -> Principal {
    Principal {
        role,
        who: Who::Session {
            admin_id: format!("admin-{}", role.as_str()),
            username: role.as_str().to_owned(),
            must_change_password: false,
        },
    }
}

fn operator() -> Principal {
    admin(Role::SystemAdmin)
}

/// A valid unified social credit code (GB 32100 check character) from a number.
fn uscc(n: u32) -> String {
    const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const WEIGHTS: [u32; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let body = format!("91350800MA{n:07}");
    let sum: u32 = body
        .bytes()
        .zip(WEIGHTS)
        .map(|(c, w)| CHARSET.iter().position(|x| *x == c).unwrap() as u32 * w)
        .sum();
    let check = CHARSET[((31 - sum % 31) % 31) as usize] as char;
    format!("{body}{check}")
}

/// A code whose check character is wrong.
fn bad_uscc() -> String {
    let good = uscc(99);
    let last = good.chars().last().unwrap();
    let wrong = if last == '1' { '2' } else { '1' };
    format!("{}{wrong}", &good[..17])
}

fn new_org(kind: OrgKind, name: &str, code: Option<String>) -> NewOrganisation {
    NewOrganisation {
        kind: Some(kind),
        name: name.to_owned(),
        uscc: code,
        contact_name: Some("王经理".to_owned()),
        contact_phone: Some("0597-2345678".to_owned()),
        introduction: None,
    }
}

fn code_of(e: OrgError) -> ErrorCode {
    ApiError::from(e).code
}

/// An approved institution with its main account.
async fn approved_institution(env: &Env, name: &str, n: u32) -> (String, String) {
    let main = env.person(&format!("{name}主")).await;
    let org = env
        .orgs
        .register(
            &main,
            new_org(OrgKind::Institution, name, Some(uscc(n))),
            &ctx(),
        )
        .await
        .unwrap();
    env.orgs
        .review(&operator(), &org.id, Decision::Approve, &ctx())
        .await
        .unwrap();
    (org.id, main)
}

// ---- the tests --------------------------------------------------------------------------------

async fn review_lifecycle(env: &Env) {
    let o = &env.orgs;
    let main = env.person("张三").await;
    let org = o
        .register(
            &main,
            new_org(OrgKind::Enterprise, "龙岩甲公司", Some(uscc(1))),
            &ctx(),
        )
        .await
        .unwrap();
    assert_eq!(org.status, OrgStatus::Pending);
    assert_eq!(org.uscc.as_deref(), Some(uscc(1).as_str()));
    assert_eq!(
        org.uscc_masked.as_deref(),
        Some(platform::identity::mask_id(&uscc(1)).as_str())
    );
    // The credit code is stored encrypted and masked, not in clear.
    let stored = env
        .scalar("SELECT COUNT(*) FROM organisations WHERE id = $1 AND uscc_enc IS NOT NULL AND uscc_masked LIKE '%*%'", &org.id)
        .await;
    assert_eq!(stored, 1);
    let m = o.membership_of(&main).await.unwrap().unwrap();
    assert_eq!((m.role, m.status), (MemberRole::Main, MemberStatus::Active));
    assert_eq!(
        o.portal_role(&main).await.unwrap(),
        Some(PortalRole::EnterpriseMain)
    );

    // Pending: its accounts cannot act for it.
    let e = o.scope_for(&main).await.unwrap_err();
    assert_eq!(code_of(e), ErrorCode::OrgNotApproved);

    // Only the operators review.
    for role in [Role::AuditAdmin, Role::SecurityAdmin] {
        let e = o
            .review(&admin(role), &org.id, Decision::Approve, &ctx())
            .await
            .unwrap_err();
        assert_eq!(code_of(e), ErrorCode::Forbidden);
    }
    assert_eq!(env.audited("access.denied").await, 2);
    assert_eq!(o.get(&org.id).await.unwrap().status, OrgStatus::Pending);

    // A rejection needs a reason.
    let e = o
        .review(
            &operator(),
            &org.id,
            Decision::Reject { reason: " ".into() },
            &ctx(),
        )
        .await
        .unwrap_err();
    let api = ApiError::from(e);
    assert_eq!(api.code, ErrorCode::ValidationFailed);
    assert_eq!(api.errors[0].field, "reason");
    assert_eq!(api.errors[0].message, "请填写驳回原因");

    let rejected = o
        .review(
            &operator(),
            &org.id,
            Decision::Reject {
                reason: "营业执照信息与名称不符".into(),
            },
            &ctx(),
        )
        .await
        .unwrap();
    assert_eq!(rejected.status, OrgStatus::Rejected);
    assert_eq!(
        rejected.reject_reason.as_deref(),
        Some("营业执照信息与名称不符")
    );
    assert_eq!(
        rejected.reviewed_by.as_deref(),
        Some("admin:admin-system-admin")
    );
    assert_eq!(
        code_of(o.scope_for(&main).await.unwrap_err()),
        ErrorCode::OrgNotApproved
    );

    // A rejected organisation cannot be reviewed again until resubmitted.
    let e = o
        .review(&operator(), &org.id, Decision::Approve, &ctx())
        .await
        .unwrap_err();
    assert_eq!(code_of(e), ErrorCode::OrgNotPending);

    // Only its main account resubmits it.
    let stranger = env.person("李四").await;
    let e = o
        .resubmit(
            &stranger,
            &org.id,
            new_org(OrgKind::Enterprise, "龙岩甲有限公司", Some(uscc(1))),
            &ctx(),
        )
        .await
        .unwrap_err();
    assert_eq!(code_of(e), ErrorCode::OrgForbidden);
    let resubmitted = o
        .resubmit(
            &main,
            &org.id,
            new_org(OrgKind::Enterprise, "龙岩甲有限公司", Some(uscc(1))),
            &ctx(),
        )
        .await
        .unwrap();
    assert_eq!(resubmitted.status, OrgStatus::Pending);
    assert_eq!(resubmitted.name, "龙岩甲有限公司");
    assert_eq!(resubmitted.reject_reason, None);
    // A pending one is not resubmitted.
    let e = o
        .resubmit(
            &main,
            &org.id,
            new_org(OrgKind::Enterprise, "龙岩甲有限公司", Some(uscc(1))),
            &ctx(),
        )
        .await
        .unwrap_err();
    assert_eq!(code_of(e), ErrorCode::OrgStateConflict);

    let approved = o
        .review(&operator(), &org.id, Decision::Approve, &ctx())
        .await
        .unwrap();
    assert_eq!(approved.status, OrgStatus::Approved);
    let scope = o.scope_for(&main).await.unwrap();
    assert_eq!(scope.org_id(), org.id);
    assert!(scope.is_main());
    assert_eq!(scope.portal_role(), PortalRole::EnterpriseMain);

    // Reviewing an approved organisation again is refused.
    let e = o
        .review(
            &operator(),
            &org.id,
            Decision::Reject {
                reason: "再次审核".into(),
            },
            &ctx(),
        )
        .await
        .unwrap_err();
    assert_eq!(code_of(e), ErrorCode::OrgNotPending);

    // Disable and enable; asking twice changes nothing.
    assert_eq!(
        o.set_disabled(&operator(), &org.id, true, &ctx())
            .await
            .unwrap()
            .status,
        OrgStatus::Disabled
    );
    o.set_disabled(&operator(), &org.id, true, &ctx())
        .await
        .unwrap();
    assert_eq!(
        code_of(o.scope_for(&main).await.unwrap_err()),
        ErrorCode::OrgNotApproved
    );
    let e = o
        .set_disabled(&admin(Role::AuditAdmin), &org.id, false, &ctx())
        .await
        .unwrap_err();
    assert_eq!(code_of(e), ErrorCode::Forbidden);
    assert_eq!(
        o.set_disabled(&operator(), &org.id, false, &ctx())
            .await
            .unwrap()
            .status,
        OrgStatus::Approved
    );
    o.scope_for(&main).await.unwrap();

    // Pending organisations are reviewed, not enabled or disabled.
    let other = env.person("王五").await;
    let pending = o
        .register(
            &other,
            new_org(OrgKind::Intermediary, "龙岩评估所", None),
            &ctx(),
        )
        .await
        .unwrap();
    let e = o
        .set_disabled(&operator(), &pending.id, true, &ctx())
        .await
        .unwrap_err();
    assert_eq!(code_of(e), ErrorCode::OrgStateConflict);
    let e = o
        .review(&operator(), "no-such-org", Decision::Approve, &ctx())
        .await
        .unwrap_err();
    assert_eq!(code_of(e), ErrorCode::OrgNotFound);

    // One record per change.
    for (event, n) in [
        ("org.registered", 1),
        ("org.rejected", 1),
        ("org.resubmitted", 1),
        ("org.approved", 1),
        ("org.disabled", 1),
        ("org.enabled", 1),
    ] {
        assert_eq!(env.audited_for(event, &org.id).await, n, "{event}");
    }
    assert_eq!(env.audited("access.denied").await, 3);
}

async fn data_is_scoped_to_the_organisation(env: &Env) {
    let o = &env.orgs;
    let (a_id, a_main) = approved_institution(env, "甲银行", 11).await;
    let (b_id, b_main) = approved_institution(env, "乙银行", 12).await;
    let a_scope = o.scope_for(&a_main).await.unwrap();
    let b_scope = o.scope_for(&b_main).await.unwrap();
    assert_eq!(a_scope.portal_role(), PortalRole::InstitutionMain);

    let a_sub = env.person("甲一").await;
    let a_sub2 = env.person("甲二").await;
    let b_sub = env.person("乙一").await;
    o.add_member(&a_scope, &a_sub, &ctx()).await.unwrap();
    o.add_member(&a_scope, &a_sub2, &ctx()).await.unwrap();
    o.add_member(&b_scope, &b_sub, &ctx()).await.unwrap();
    assert_eq!(
        o.portal_role(&a_sub).await.unwrap(),
        Some(PortalRole::InstitutionSub)
    );

    // A's list holds A's accounts only.
    let members = o.members(&a_scope, Page::default()).await.unwrap();
    assert_eq!(members.total, 3);
    let ids: Vec<&str> = members
        .items
        .iter()
        .map(|m| m.account_id.as_str())
        .collect();
    assert_eq!(ids[0], a_main, "the main account comes first");
    assert!(ids.contains(&a_sub.as_str()) && ids.contains(&a_sub2.as_str()));
    assert!(!ids.contains(&b_sub.as_str()) && !ids.contains(&b_main.as_str()));
    assert_eq!(members.items[1].display_name, "甲一");
    // Paged.
    let first = o.members(&a_scope, Page::new(1, 2)).await.unwrap();
    let second = o.members(&a_scope, Page::new(2, 2)).await.unwrap();
    assert_eq!(
        (first.items.len(), second.items.len(), second.total),
        (2, 1, 3)
    );
    let b_members = o.members(&b_scope, Page::default()).await.unwrap();
    assert!(
        b_members
            .items
            .iter()
            .all(|m| m.account_id == b_main || m.account_id == b_sub)
    );

    // A's main account cannot touch B's sub account: not found, and it stays active.
    let e = o
        .set_member_disabled(&a_scope, &b_sub, true, &ctx())
        .await
        .unwrap_err();
    assert_eq!(code_of(e), ErrorCode::OrgNotFound);
    let b_membership = o.membership_of(&b_sub).await.unwrap().unwrap();
    assert_eq!(b_membership.status, MemberStatus::Active);
    assert_eq!(b_membership.org.id, b_id);
    o.scope_for(&b_sub).await.unwrap();
    // Nor take it in.
    let e = o.add_member(&a_scope, &b_sub, &ctx()).await.unwrap_err();
    assert_eq!(code_of(e), ErrorCode::OrgDuplicate);
    // Nor an account that does not exist.
    let e = o
        .add_member(&a_scope, "no-such-account", &ctx())
        .await
        .unwrap_err();
    assert_eq!(code_of(e), ErrorCode::AccountNotFound);

    // A sub account manages nothing.
    let sub_scope = o.scope_for(&a_sub).await.unwrap();
    assert!(!sub_scope.is_main());
    let newcomer = env.person("丙").await;
    let e = o
        .add_member(&sub_scope, &newcomer, &ctx())
        .await
        .unwrap_err();
    assert_eq!(code_of(e), ErrorCode::OrgForbidden);
    let e = o
        .set_member_disabled(&sub_scope, &a_sub2, true, &ctx())
        .await
        .unwrap_err();
    assert_eq!(code_of(e), ErrorCode::OrgForbidden);
    assert!(o.membership_of(&newcomer).await.unwrap().is_none());
    // The main account is not disabled by the organisation.
    let e = o
        .set_member_disabled(&a_scope, &a_main, true, &ctx())
        .await
        .unwrap_err();
    assert_eq!(code_of(e), ErrorCode::OrgForbidden);

    // A's main account disables its own sub account, which then cannot act for A.
    let v = o
        .set_member_disabled(&a_scope, &a_sub, true, &ctx())
        .await
        .unwrap();
    assert_eq!(v.status, MemberStatus::Disabled);
    o.set_member_disabled(&a_scope, &a_sub, true, &ctx())
        .await
        .unwrap();
    assert_eq!(
        code_of(o.scope_for(&a_sub).await.unwrap_err()),
        ErrorCode::OrgForbidden
    );
    // An old scope of a sub account that lost its place changes nothing either.
    let e = o
        .add_member(&sub_scope, &newcomer, &ctx())
        .await
        .unwrap_err();
    assert_eq!(code_of(e), ErrorCode::OrgForbidden);
    o.set_member_disabled(&a_scope, &a_sub, false, &ctx())
        .await
        .unwrap();
    o.scope_for(&a_sub).await.unwrap();

    // Without a membership there is no scope.
    assert_eq!(
        code_of(o.scope_for(&newcomer).await.unwrap_err()),
        ErrorCode::OrgForbidden
    );
    assert_eq!(o.portal_role(&newcomer).await.unwrap(), None);

    // Writes with the scope of a disabled organisation are refused.
    o.set_disabled(&operator(), &a_id, true, &ctx())
        .await
        .unwrap();
    let e = o.add_member(&a_scope, &newcomer, &ctx()).await.unwrap_err();
    assert_eq!(code_of(e), ErrorCode::OrgNotApproved);

    assert_eq!(env.audited_for("org.member_added", &a_id).await, 2);
    assert_eq!(env.audited_for("org.member_added", &b_id).await, 1);
    assert_eq!(env.audited_for("org.member_disabled", &a_id).await, 1);
    assert_eq!(env.audited_for("org.member_enabled", &a_id).await, 1);
    assert_eq!(env.audited_for("org.member_disabled", &b_id).await, 0);
}

async fn legal_person_sign_in_binds_the_enterprise(env: &Env) {
    let o = &env.orgs;
    let company = env.account("legal_person", "龙岩乙科技有限公司").await;
    let code = uscc(21);
    let m = o
        .bind_enterprise(&company, &code, " 龙岩乙科技有限公司 ", &ctx())
        .await
        .unwrap();
    assert_eq!(m.org.kind, OrgKind::Enterprise);
    assert_eq!(m.org.status, OrgStatus::Approved);
    assert_eq!(m.org.name, "龙岩乙科技有限公司");
    assert_eq!(m.org.uscc.as_deref(), Some(code.as_str()));
    assert_eq!(m.role, MemberRole::Main);
    assert_eq!(m.portal_role(), PortalRole::EnterpriseMain);
    o.scope_for(&company).await.unwrap();

    // Again: nothing changes, nothing more is recorded (lower case is the same code).
    let again = o
        .bind_enterprise(&company, &code.to_lowercase(), "龙岩乙科技有限公司", &ctx())
        .await
        .unwrap();
    assert_eq!(again.org, m.org);
    assert_eq!(again.role, MemberRole::Main);
    assert_eq!(env.audited_for("org.enterprise_bound", &m.org.id).await, 1);
    assert_eq!(
        env.scalar(
            "SELECT COUNT(*) FROM org_members WHERE org_id = $1",
            &m.org.id
        )
        .await,
        1
    );

    // Another account of the same company joins as a sub account.
    let second = env.account("legal_person", "龙岩乙科技有限公司").await;
    let s = o
        .bind_enterprise(&second, &code, "龙岩乙科技有限公司", &ctx())
        .await
        .unwrap();
    assert_eq!(
        (s.org.id.as_str(), s.role),
        (m.org.id.as_str(), MemberRole::Sub)
    );
    assert_eq!(env.audited_for("org.enterprise_bound", &m.org.id).await, 2);

    // An enterprise registered by someone else keeps its main account; the company joins it.
    let registrant = env.person("赵六").await;
    let registered = o
        .register(
            &registrant,
            new_org(OrgKind::Enterprise, "龙岩丙公司", Some(uscc(22))),
            &ctx(),
        )
        .await
        .unwrap();
    let third = env.account("legal_person", "龙岩丙公司").await;
    let t = o
        .bind_enterprise(&third, &uscc(22), "龙岩丙公司", &ctx())
        .await
        .unwrap();
    assert_eq!(
        (t.org.id.as_str(), t.role),
        (registered.id.as_str(), MemberRole::Sub)
    );
    assert_eq!(t.org.status, OrgStatus::Pending);

    // The company's account belongs to its enterprise: it cannot bind another.
    let e = o
        .bind_enterprise(&company, &uscc(23), "别的公司", &ctx())
        .await
        .unwrap_err();
    assert_eq!(code_of(e), ErrorCode::OrgDuplicate);
    // A code registered to an institution is not taken over.
    let (_, _) = approved_institution(env, "丁银行", 24).await;
    let bank = env.account("legal_person", "丁银行").await;
    let e = o
        .bind_enterprise(&bank, &uscc(24), "丁银行", &ctx())
        .await
        .unwrap_err();
    assert_eq!(code_of(e), ErrorCode::OrgDuplicate);
    // A malformed code is a field error.
    let e = o
        .bind_enterprise(&bank, &bad_uscc(), "丁银行", &ctx())
        .await
        .unwrap_err();
    let api = ApiError::from(e);
    assert_eq!(api.code, ErrorCode::ValidationFailed);
    assert_eq!(api.errors[0].field, "uscc");

    let counts = o.counts().await.unwrap();
    assert_eq!((counts.enterprises, counts.institutions), (1, 1));
}

async fn duplicates_and_field_errors(env: &Env) {
    let o = &env.orgs;
    let first = env.person("甲").await;
    let org = o
        .register(
            &first,
            new_org(OrgKind::Enterprise, "龙岩丁公司", Some(uscc(31))),
            &ctx(),
        )
        .await
        .unwrap();

    // The same credit code again, by another account.
    let second = env.person("乙").await;
    let e = o
        .register(
            &second,
            new_org(OrgKind::Enterprise, "另一家", Some(uscc(31))),
            &ctx(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, OrgError::DuplicateUscc), "{e:?}");
    assert_eq!(code_of(e), ErrorCode::OrgDuplicate);
    // The same account registering a second organisation.
    let e = o
        .register(
            &first,
            new_org(OrgKind::Institution, "另一家", None),
            &ctx(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, OrgError::AlreadyMember), "{e:?}");
    // Operators cannot create it a second time either.
    let e = o
        .create_by_operator(
            &operator(),
            new_org(OrgKind::Enterprise, "重复", Some(uscc(31))),
            &ctx(),
        )
        .await
        .unwrap_err();
    assert_eq!(code_of(e), ErrorCode::OrgDuplicate);

    // Field errors, in Chinese.
    let mut bad = new_org(OrgKind::Enterprise, "  ", Some(bad_uscc()));
    bad.contact_phone = Some("电话".into());
    let api = ApiError::from(o.register(&second, bad, &ctx()).await.unwrap_err());
    assert_eq!(api.code, ErrorCode::ValidationFailed);
    let fields: Vec<(&str, &str)> = api
        .errors
        .iter()
        .map(|f| (f.field.as_str(), f.message.as_str()))
        .collect();
    assert_eq!(fields[0], ("name", "请填写机构名称"));
    assert_eq!(fields[1].0, "uscc");
    assert!(fields[1].1.contains("统一社会信用代码"), "{}", fields[1].1);
    assert_eq!(fields[2].0, "contact_phone");
    let api = ApiError::from(
        o.register(
            &second,
            new_org(OrgKind::Enterprise, "无代码公司", None),
            &ctx(),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(api.errors[0].field, "uscc");
    assert_eq!(api.errors[0].message, "请填写统一社会信用代码");
    let api = ApiError::from(
        o.register(
            &second,
            new_org(OrgKind::Operator, "自称运营方", None),
            &ctx(),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(api.errors[0].field, "kind");
    let api = ApiError::from(
        o.register(
            &second,
            new_org(OrgKind::Institution, &"长".repeat(101), None),
            &ctx(),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(api.errors[0].message, "机构名称不能超过 100 个字");

    // Nothing half-saved: a registration by an account that does not exist leaves nothing.
    let e = o
        .register(
            "no-such-account",
            new_org(OrgKind::Institution, "幽灵银行", None),
            &ctx(),
        )
        .await
        .unwrap_err();
    assert_eq!(code_of(e), ErrorCode::AccountNotFound);
    assert_eq!(
        env.scalar(
            "SELECT COUNT(*) FROM organisations WHERE name = $1",
            "幽灵银行"
        )
        .await,
        0
    );
    assert_eq!(
        env.scalar("SELECT COUNT(*) FROM organisations WHERE id <> $1", &org.id)
            .await,
        0
    );
    assert_eq!(env.audited("org.registered").await, 1);
}

async fn operators_list_and_create(env: &Env) {
    let o = &env.orgs;
    let gov = o
        .create_by_operator(
            &operator(),
            new_org(OrgKind::Government, "龙岩市金融监管局", None),
            &ctx(),
        )
        .await
        .unwrap();
    assert_eq!(gov.status, OrgStatus::Approved);
    assert_eq!(env.audited_for("org.created", &gov.id).await, 1);
    let e = o
        .create_by_operator(
            &admin(Role::AuditAdmin),
            new_org(OrgKind::Government, "x", None),
            &ctx(),
        )
        .await
        .unwrap_err();
    assert_eq!(code_of(e), ErrorCode::Forbidden);

    // Its first staff member is put in by the operators.
    let staff = env.person("政务员").await;
    o.add_member_by_operator(&operator(), &gov.id, &staff, MemberRole::Main, &ctx())
        .await
        .unwrap();
    let e = o
        .add_member_by_operator(
            &operator(),
            &gov.id,
            &env.person("第二位").await,
            MemberRole::Main,
            &ctx(),
        )
        .await
        .unwrap_err();
    assert_eq!(code_of(e), ErrorCode::OrgStateConflict);
    assert_eq!(
        o.portal_role(&staff).await.unwrap(),
        Some(PortalRole::Government)
    );
    assert_eq!(
        o.scope_for(&staff).await.unwrap().portal_role(),
        PortalRole::Government
    );

    for n in 0..5u32 {
        approved_institution(env, &format!("银行{n}"), 40 + n).await;
    }
    let pending_main = env.person("待审").await;
    let pending = o
        .register(
            &pending_main,
            new_org(OrgKind::Institution, "待审银行_%", Some(uscc(50))),
            &ctx(),
        )
        .await
        .unwrap();

    let all = o
        .list(OrgFilter::default(), Page::new(1, 100))
        .await
        .unwrap();
    assert_eq!(all.total, 7);
    assert_eq!(all.items[0].id, pending.id, "newest first");
    let page = o.list(OrgFilter::default(), Page::new(2, 3)).await.unwrap();
    assert_eq!(
        (
            page.items.len(),
            page.total,
            page.page,
            page.size,
            page.pages()
        ),
        (3, 7, 2, 3, 3)
    );

    let pendings = o
        .list(
            OrgFilter {
                status: Some(OrgStatus::Pending),
                ..OrgFilter::default()
            },
            Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(pendings.total, 1);
    assert_eq!(pendings.items[0].id, pending.id);
    let govs = o
        .list(
            OrgFilter {
                kind: Some(OrgKind::Government),
                ..OrgFilter::default()
            },
            Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        (govs.total, govs.items[0].id.as_str()),
        (1, gov.id.as_str())
    );
    // By part of the name; the pattern characters are literal.
    let q = |q: &str| OrgFilter {
        q: Some(q.to_owned()),
        ..OrgFilter::default()
    };
    assert_eq!(o.list(q("银行"), Page::default()).await.unwrap().total, 6);
    assert_eq!(o.list(q("_%"), Page::default()).await.unwrap().total, 1);
    assert_eq!(o.list(q("%"), Page::default()).await.unwrap().total, 1);
    // By whole credit code.
    let by_code = o.list(q(&uscc(50)), Page::default()).await.unwrap();
    assert_eq!(
        (by_code.total, by_code.items[0].id.as_str()),
        (1, pending.id.as_str())
    );

    // The public list: approved institutions only, by name.
    let public = o.public_institutions(Page::new(1, 2)).await.unwrap();
    assert_eq!(public.total, 5);
    assert_eq!(public.items.len(), 2);
    assert!(
        public
            .items
            .iter()
            .all(|i| i.kind == OrgKind::Institution && i.status == OrgStatus::Approved)
    );
    // Serialised, an organisation shows its credit code masked only.
    let json = serde_json::to_value(&public.items[0]).unwrap();
    assert!(json.get("uscc").is_none());
    assert!(json["uscc_masked"].as_str().unwrap().contains('*'));
    assert_eq!(json["kind"], "institution");

    let counts = o.counts().await.unwrap();
    assert_eq!((counts.enterprises, counts.institutions), (0, 5));
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let env = super::Env::open(super::Backend::Sqlite).await;
                    super::$name(&env).await;
                    env.close().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let env = super::Env::open(super::Backend::Postgres).await;
                    // Drop the database even when the test fails.
                    let outcome = catch_panics(super::$name(&env)).await;
                    env.close().await;
                    if let Err(p) = outcome {
                        std::panic::resume_unwind(p);
                    }
                }
            )*

            /// Runs `f`, catching a failing assertion (the future borrows the environment, so
            /// it is polled here rather than spawned).
            async fn catch_panics<F: std::future::Future<Output = ()>>(
                f: F,
            ) -> Result<(), Box<dyn std::any::Any + Send>> {
                let mut f = std::pin::pin!(f);
                std::future::poll_fn(|cx| {
                    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f.as_mut().poll(cx))) {
                        Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
                        Ok(std::task::Poll::Ready(())) => std::task::Poll::Ready(Ok(())),
                        Err(p) => std::task::Poll::Ready(Err(p)),
                    }
                })
                .await
            }
        }
    };
}

on_both_backends!(
    review_lifecycle,
    data_is_scoped_to_the_organisation,
    legal_person_sign_in_binds_the_enterprise,
    duplicates_and_field_errors,
    operators_list_and_create,
);

#[test]
fn credit_codes_of_the_tests_are_valid() {
    for n in [1, 11, 12, 21, 50] {
        platform::identity::Uscc::parse(&uscc(n)).unwrap();
    }
    assert!(platform::identity::Uscc::parse(&bad_uscc()).is_err());
}
