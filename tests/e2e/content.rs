//! Content (issue: CMS): the editorial workflow through the console's forms with separate
//! editor and reviewer permissions, the columns and search following publication within a
//! second, the recycle bin and revisions, an XSS corpus through the editor, sensitive words
//! refused or held, uploads typed by their content, a government department held to its own
//! policies, page views counted without personal data, follows and recommendations, the
//! operators' library pages, the JSON endpoints and `hub search reindex`.

use std::time::{Duration, Instant};

use platform::admin::Role;
use tests::anyhow::{Context, Result, bail, ensure};
use tests::{Browser, Env, Page, Test, TestHub, federated_hub, hub_command, test};

use crate::portal::{approved_org, console, csrf, get_ok, html_browser, post, see_other, sign_in};

pub fn tests() -> Vec<Test> {
    vec![
        test!(an_article_goes_through_review_into_its_columns_and_search),
        test!(editors_and_reviewers_cannot_do_each_others_steps),
        test!(the_recycle_bin_keeps_restores_and_purges),
        test!(an_xss_corpus_through_the_editor_stays_inert),
        test!(sensitive_words_are_refused_with_the_words_marked),
        test!(sensitive_words_can_be_held_for_the_reviewer_instead),
        test!(uploads_are_typed_by_their_content_and_limited),
        test!(files_go_to_an_s3_compatible_store),
        test!(a_department_writes_only_its_own_policies),
        test!(page_views_are_counted_without_personal_data),
        test!(followers_get_recommendations_from_what_they_follow),
        test!(the_library_pages_manage_columns_words_links_and_dictionary),
        test!(the_json_endpoints_list_read_and_search),
        test!(the_reindex_command_rebuilds_every_nodes_index),
    ]
}

/// Saves a new article through the console's editor; returns its id.
async fn write(
    hub: &TestHub,
    editor: &mut Browser,
    title: &str,
    body: &str,
    columns: &[&str],
    tags: &str,
    action: &str,
) -> Result<String> {
    let form = get_ok(editor, hub, "/console/content/new").await?;
    let token = csrf(&form)?;
    let mut fields: Vec<(&str, &str)> = vec![
        ("csrf", &token),
        ("title", title),
        ("body", body),
        ("tags", tags),
        ("action", action),
    ];
    for c in columns {
        fields.push(("columns", c));
    }
    let done = post(editor, hub, "/console/content/new", &fields).await?;
    ensure!(done.status == 303, "create: {} {}", done.status, done.body);
    let loc = done.location.clone().context("no location")?;
    let id = loc
        .trim_start_matches("/console/content/")
        .split('?')
        .next()
        .context("id")?
        .to_owned();
    Ok(id)
}

/// Takes a step (`publish`, `reject`, `withdraw`, `delete`, `restore`, `purge`, `submit`) on
/// the article's console page.
async fn step(
    hub: &TestHub,
    b: &mut Browser,
    id: &str,
    step: &str,
    extra: &[(&str, &str)],
) -> Result<Page> {
    let page = get_ok(b, hub, &format!("/console/content/{id}")).await?;
    let token = csrf(&page)?;
    let mut fields = vec![("csrf", token.as_str())];
    fields.extend_from_slice(extra);
    post(b, hub, &format!("/console/content/{id}/{step}"), &fields).await
}

/// Waits up to `limit` for `cond` on the JSON search of `q`.
async fn search_until(
    hub: &TestHub,
    q: &str,
    limit: Duration,
    cond: impl Fn(&serde_json::Value) -> bool,
) -> Result<(serde_json::Value, Duration)> {
    let started = Instant::now();
    loop {
        let res = hub
            .http
            .get(hub.url("/api/search"))
            .query(&[("q", q)])
            .send()
            .await?;
        ensure!(res.status() == 200, "search: {}", res.status());
        let found: serde_json::Value = res.json().await?;
        if cond(&found) {
            return Ok((found, started.elapsed()));
        }
        if started.elapsed() > limit {
            bail!("search for {q} did not become as expected within {limit:?}: {found}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ids(found: &serde_json::Value) -> Vec<String> {
    found["hits"]
        .as_array()
        .map(|h| {
            h.iter()
                .filter_map(|x| x["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

const TITLE: &str = "龙岩市小微企业贷款贴息政策解读";
const BODY: &str = "<p>对符合条件的小微企业给予<strong>贷款贴息</strong>，征信良好的企业优先。</p>";

async fn an_article_goes_through_review_into_its_columns_and_search(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let mut ed = console(&hub, "editor1", Role::ContentEditor).await?;
    let mut rv = console(&hub, "reviewer1", Role::ContentReviewer).await?;
    let id = write(
        &hub,
        &mut ed,
        TITLE,
        BODY,
        &["policy-longyan"],
        "贴息，小微企业",
        "submit",
    )
    .await?;
    // Pending: in the reviewer's queue, not public.
    let queue = get_ok(&mut rv, &hub, "/console/content").await?;
    ensure!(
        queue.body.contains(TITLE) && queue.body.contains("待审核"),
        "{}",
        queue.body
    );
    let public = hub.get(&format!("/articles/{id}")).await?;
    ensure!(
        public.status() == 404,
        "a pending article is public: {}",
        public.status()
    );
    // A rejection needs a reason, shown on the field; then the editor sees it.
    let refused = step(&hub, &mut rv, &id, "reject", &[("reason", "")]).await?;
    ensure!(
        refused.status == 422 && refused.body.contains("请填写驳回理由"),
        "{} {}",
        refused.status,
        refused.body
    );
    let done = step(
        &hub,
        &mut rv,
        &id,
        "reject",
        &[("reason", "请补充申报时间和联系方式")],
    )
    .await?;
    see_other(&done, &format!("/console/content/{id}?ok=rejected"))?;
    let mine = get_ok(&mut ed, &hub, &format!("/console/content/{id}")).await?;
    ensure!(
        mine.body.contains("已驳回") && mine.body.contains("请补充申报时间和联系方式"),
        "{}",
        mine.body
    );
    // The editor fixes it (a second revision) and submits again.
    let token = csrf(&mine)?;
    let fixed = format!("{BODY}<p>申报时间：每季度首月；联系电话 0597-0000000。</p>");
    let saved = post(
        &mut ed,
        &hub,
        &format!("/console/content/{id}"),
        &[
            ("csrf", &token),
            ("revision", "1"),
            ("title", TITLE),
            ("body", &fixed),
            ("tags", "贴息，小微企业"),
            ("columns", "policy-longyan"),
            ("columns", "news"),
            ("action", "submit"),
        ],
    )
    .await?;
    see_other(&saved, &format!("/console/content/{id}?ok=submitted"))?;
    // Published: in both its columns, the policy level's tab, search within a second.
    let published = step(&hub, &mut rv, &id, "publish", &[]).await?;
    see_other(&published, &format!("/console/content/{id}?ok=published"))?;
    let (found, took) = search_until(&hub, "贴息", Duration::from_secs(1), |f| {
        ids(f).contains(&id)
    })
    .await?;
    ensure!(took <= Duration::from_secs(1), "search took {took:?}");
    ensure!(
        found["hits"][0]["title_html"]
            .as_str()
            .unwrap_or("")
            .contains("<mark>贴息</mark>"),
        "{found}"
    );
    for path in [
        "/policies",
        "/policies?c=policy-longyan",
        "/policies?level=city",
        "/news",
        "/",
    ] {
        let page = get_ok(&mut html_browser(), &hub, path).await?;
        ensure!(page.body.contains(TITLE), "{path} lacks the article");
    }
    let other_level = get_ok(&mut html_browser(), &hub, "/policies?c=policy-national").await?;
    ensure!(!other_level.body.contains(TITLE), "shown under 国家");
    let article = get_ok(&mut html_browser(), &hub, &format!("/articles/{id}")).await?;
    ensure!(
        article.body.contains("联系电话") && article.body.contains("/tags/%E8%B4%B4%E6%81%AF"),
        "{}",
        article.body
    );
    // Both revisions are kept and readable.
    let detail = get_ok(&mut rv, &hub, &format!("/console/content/{id}")).await?;
    ensure!(
        detail.body.contains("第 2 版") && detail.body.contains("第 1 版"),
        "{}",
        detail.body
    );
    let first = get_ok(&mut rv, &hub, &format!("/console/content/{id}/revisions/1")).await?;
    ensure!(
        !first.body.contains("联系电话"),
        "revision 1 shows revision 2's text"
    );
    // Withdrawn: gone from the portal and the search within a second.
    let withdrawn = step(&hub, &mut rv, &id, "withdraw", &[]).await?;
    see_other(&withdrawn, &format!("/console/content/{id}?ok=withdrawn"))?;
    search_until(&hub, "贴息", Duration::from_secs(1), |f| {
        !ids(f).contains(&id)
    })
    .await?;
    ensure!(
        hub.get(&format!("/articles/{id}")).await?.status() == 404,
        "withdrawn but public"
    );
    // Who did what is audited.
    let db = hub.store.connect().await?;
    let events = db
        .strings(&format!(
            "SELECT event FROM audit_log WHERE target = 'article:{id}' ORDER BY seq"
        ))
        .await?;
    ensure!(
        events
            == [
                "content.created",
                "content.submitted",
                "content.rejected",
                "content.revised",
                "content.submitted",
                "content.published",
                "content.withdrawn",
            ],
        "{events:?}"
    );
    db.close().await;
    Ok(())
}

async fn editors_and_reviewers_cannot_do_each_others_steps(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let mut ed = console(&hub, "editor1", Role::ContentEditor).await?;
    let mut rv = console(&hub, "reviewer1", Role::ContentReviewer).await?;
    let mut ops = console(&hub, "auditor1", Role::AuditAdmin).await?;
    let id = write(&hub, &mut ed, TITLE, BODY, &["policy"], "", "submit").await?;
    // The editor cannot publish their own article.
    let own = step(&hub, &mut ed, &id, "publish", &[]).await?;
    ensure!(
        own.status == 403,
        "an editor published: {} {}",
        own.status,
        own.body
    );
    // The reviewer cannot write.
    let new = rv.get(&hub.url("/console/content/new")).await?;
    ensure!(new.status == 403, "a reviewer writes: {}", new.status);
    // The auditor sees no content section at all.
    let list = ops.get(&hub.url("/console/content")).await?;
    ensure!(
        list.status == 403,
        "an auditor reads content: {}",
        list.status
    );
    let home = get_ok(&mut ops, &hub, "/console").await?;
    ensure!(
        !home.body.contains("/console/content"),
        "the auditor's navigation offers content"
    );
    // An empty form: errors in Chinese on each field, what was typed kept.
    let form = get_ok(&mut ed, &hub, "/console/content/new").await?;
    let token = csrf(&form)?;
    let bad = post(
        &mut ed,
        &hub,
        "/console/content/new",
        &[
            ("csrf", &token),
            ("title", ""),
            ("body", "<p>留着的正文</p>"),
            ("action", "save"),
        ],
    )
    .await?;
    ensure!(bad.status == 422, "{} {}", bad.status, bad.body);
    ensure!(
        bad.body.contains("请填写标题")
            && bad.body.contains("请至少选择一个栏目")
            && bad.body.contains("留着的正文"),
        "{}",
        bad.body
    );
    // A stale revision is a conflict, not an overwrite.
    let page = get_ok(&mut ed, &hub, &format!("/console/content/{id}")).await?;
    ensure!(
        !page.body.contains("id=\"editor-form\""),
        "a pending article is editable"
    );
    let token = csrf(&page)?;
    let stale = post(
        &mut ed,
        &hub,
        &format!("/console/content/{id}"),
        &[
            ("csrf", &token),
            ("revision", "1"),
            ("title", "改"),
            ("body", BODY),
            ("columns", "policy"),
            ("action", "save"),
        ],
    )
    .await?;
    ensure!(
        stale.status == 409 && stale.body.contains("待审核"),
        "{} {}",
        stale.status,
        stale.body
    );
    Ok(())
}

async fn the_recycle_bin_keeps_restores_and_purges(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let mut ed = console(&hub, "editor1", Role::ContentEditor).await?;
    let mut rv = console(&hub, "reviewer1", Role::ContentReviewer).await?;
    let id = write(
        &hub,
        &mut ed,
        "担保费补助通知",
        "<p>政府性融资担保机构担保费补助。</p>",
        &["notice"],
        "担保",
        "submit",
    )
    .await?;
    see_other(
        &step(&hub, &mut rv, &id, "publish", &[]).await?,
        &format!("/console/content/{id}?ok=published"),
    )?;
    search_until(&hub, "担保", Duration::from_secs(1), |f| {
        ids(f).contains(&id)
    })
    .await?;
    // Into the bin: off the portal and the search; listed in the bin.
    see_other(
        &step(&hub, &mut rv, &id, "delete", &[]).await?,
        &format!("/console/content/{id}?ok=deleted"),
    )?;
    search_until(&hub, "担保", Duration::from_secs(1), |f| {
        !ids(f).contains(&id)
    })
    .await?;
    ensure!(
        !get_ok(&mut html_browser(), &hub, "/notices")
            .await?
            .body
            .contains("担保费补助通知"),
        "deleted but listed"
    );
    let bin = get_ok(&mut rv, &hub, "/console/content?bin=1").await?;
    ensure!(bin.body.contains("担保费补助通知"), "not in the bin");
    // Purging needs it in the bin; restoring brings it back where it was.
    see_other(
        &step(&hub, &mut rv, &id, "restore", &[]).await?,
        &format!("/console/content/{id}?ok=restored"),
    )?;
    search_until(&hub, "担保", Duration::from_secs(1), |f| {
        ids(f).contains(&id)
    })
    .await?;
    ensure!(
        get_ok(&mut html_browser(), &hub, "/notices")
            .await?
            .body
            .contains("担保费补助通知"),
        "restored but not listed"
    );
    let not_in_bin = step(&hub, &mut rv, &id, "purge", &[]).await?;
    ensure!(
        not_in_bin.status == 409,
        "purged outside the bin: {}",
        not_in_bin.status
    );
    step(&hub, &mut rv, &id, "delete", &[]).await?;
    let purged = step(&hub, &mut rv, &id, "purge", &[]).await?;
    see_other(&purged, "/console/content?bin=1&ok=purged")?;
    ensure!(
        rv.get(&hub.url(&format!("/console/content/{id}")))
            .await?
            .status
            == 404,
        "purged but found"
    );
    let db = hub.store.connect().await?;
    let left = db
        .scalar_i64(&format!(
            "SELECT COUNT(*) FROM content_revisions WHERE article_id = '{id}'"
        ))
        .await?;
    ensure!(left == 0, "revisions left: {left}");
    let audited = db
        .scalar_i64(&format!("SELECT COUNT(*) FROM audit_log WHERE target = 'article:{id}' AND event = 'content.purged'"))
        .await?;
    ensure!(audited == 1, "purge not audited");
    db.close().await;
    Ok(())
}

/// Payloads that must not survive as active content.
const XSS: &[&str] = &[
    "<script>alert('x1')</script>",
    "<img src=x onerror=alert('x2')>",
    "<a href=\"javascript:alert('x3')\">点我</a>",
    "<a href=\"JaVaScRiPt:alert('x4')\">大小写</a>",
    "<svg onload=alert('x5')><circle r=1 /></svg>",
    "<svg><script>alert('x6')</script></svg>",
    "<iframe src=\"javascript:alert('x7')\"></iframe>",
    "<p style=\"background:url(javascript:alert('x8'))\">样式</p>",
    "<img src=\"data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoJ3g5Jyk+\">",
    "<math><mtext><script>alert('x10')</script></mtext></math>",
    "<form action=\"https://evil.example\"><input name=q></form>",
    "<object data=\"javascript:alert('x11')\"></object>",
    "<a href=\"&#106;avascript:alert('x12')\">实体</a>",
    "<div onmouseover=\"alert('x13')\">悬停</div>",
    "<base href=\"https://evil.example/\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert('x14')\">",
    "<!--<script>alert('x15')</script>-->",
    "<table><tr><td background=\"javascript:alert('x16')\">表</td></tr></table>",
];

async fn an_xss_corpus_through_the_editor_stays_inert(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let mut ed = console(&hub, "editor1", Role::ContentEditor).await?;
    let mut rv = console(&hub, "reviewer1", Role::ContentReviewer).await?;
    let body = format!(
        "<h2>安全的小标题</h2><p>正文<strong>保留</strong></p>{}",
        XSS.join("\n")
    );
    let id = write(
        &hub,
        &mut ed,
        "安全测试 <script>alert('t')</script>",
        &body,
        &["news"],
        "",
        "submit",
    )
    .await?;
    see_other(
        &step(&hub, &mut rv, &id, "publish", &[]).await?,
        &format!("/console/content/{id}?ok=published"),
    )?;
    for (who, path) in [
        ("reader", format!("/articles/{id}")),
        ("reviewer", format!("/console/content/{id}")),
        ("reviewer", format!("/console/content/{id}/revisions/1")),
    ] {
        let page = if who == "reader" {
            get_ok(&mut html_browser(), &hub, &path).await?
        } else {
            get_ok(&mut rv, &hub, &path).await?
        };
        let lower = page.body.to_lowercase();
        for bad in [
            "<script>alert",
            "onerror",
            "onload",
            "onmouseover",
            "javascript:",
            "<svg",
            "<iframe",
            "<math",
            "<object",
            "evil.example",
            "<base",
            "http-equiv",
            "background=",
            "data:image/svg",
        ] {
            ensure!(!lower.contains(bad), "{path} contains {bad}");
        }
        ensure!(
            page.body.contains("<h2>安全的小标题</h2>")
                && page.body.contains("<strong>保留</strong>"),
            "{path} lost the allowed markup"
        );
        // The title is text: shown escaped.
        ensure!(
            page.body.contains("安全测试 &lt;script&gt;"),
            "{path}: title not escaped"
        );
    }
    // The JSON carries the same sanitised body.
    let json: serde_json::Value = hub
        .http
        .get(hub.url(&format!("/api/articles/{id}")))
        .send()
        .await?
        .json()
        .await?;
    let stored = json["body"].as_str().unwrap_or_default().to_lowercase();
    ensure!(
        !stored.contains("javascript:")
            && !stored.contains("onerror")
            && !stored.contains("<script"),
        "{stored}"
    );
    Ok(())
}

pub(crate) async fn add_words(
    hub: &TestHub,
    b: &mut Browser,
    words: &str,
    category: &str,
) -> Result<()> {
    let page = get_ok(b, hub, "/console/library").await?;
    let token = csrf(&page)?;
    let done = post(
        b,
        hub,
        "/console/library",
        &[
            ("csrf", &token),
            ("form", "words_add"),
            ("words", words),
            ("word_category", category),
        ],
    )
    .await?;
    ensure!(done.status == 303, "words: {} {}", done.status, done.body);
    Ok(())
}

async fn sensitive_words_are_refused_with_the_words_marked(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let mut ed = console(&hub, "editor1", Role::ContentEditor).await?;
    let mut rv = console(&hub, "reviewer1", Role::ContentReviewer).await?;
    add_words(&hub, &mut rv, "代开发票\n套路贷", "违法金融").await?;
    let form = get_ok(&mut ed, &hub, "/console/content/new").await?;
    let token = csrf(&form)?;
    let refused = post(
        &mut ed,
        &hub,
        "/console/content/new",
        &[
            ("csrf", &token),
            ("title", "提供套路贷咨询"),
            ("body", "<p>可以代开发票。</p>"),
            ("columns", "news"),
            ("action", "submit"),
        ],
    )
    .await?;
    // Saved as a draft, the submission refused with each field's words marked.
    ensure!(refused.status == 422, "{} {}", refused.status, refused.body);
    ensure!(
        refused.body.contains("含有敏感词：「套路贷」")
            && refused.body.contains("含有敏感词：「代开发票」"),
        "{}",
        refused.body
    );
    let db = hub.store.connect().await?;
    let pending = db
        .scalar_i64("SELECT COUNT(*) FROM content_articles WHERE status = 'pending'")
        .await?;
    ensure!(pending == 0, "a refused article went to review");
    db.close().await;
    // The JSON problem names the code and the fields.
    let cms = &hub.state.cms;
    let words = cms.matcher().find("这是套路贷");
    ensure!(words == ["套路贷"], "{words:?}");
    Ok(())
}

async fn sensitive_words_can_be_held_for_the_reviewer_instead(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[("HUB_CONTENT__SENSITIVE_ACTION", "review")]).await?;
    let mut ed = console(&hub, "editor1", Role::ContentEditor).await?;
    let mut rv = console(&hub, "reviewer1", Role::ContentReviewer).await?;
    add_words(&hub, &mut rv, "代开发票", "违法金融").await?;
    let id = write(
        &hub,
        &mut ed,
        "普通标题",
        "<p>可以代开发票吗</p>",
        &["news"],
        "",
        "submit",
    )
    .await?;
    let page = get_ok(&mut rv, &hub, &format!("/console/content/{id}")).await?;
    ensure!(
        page.body.contains("待审核") && page.body.contains("提交时检测到敏感词"),
        "{}",
        page.body
    );
    ensure!(
        page.body.contains("<mark>代开发票</mark>"),
        "words not marked: {}",
        page.body
    );
    Ok(())
}

const PNG: &[u8] = &[
    0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0, 0,
    1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89,
];

async fn upload(
    hub: &TestHub,
    b: &mut Browser,
    name: &str,
    bytes: Vec<u8>,
) -> Result<reqwest::Response> {
    let page = get_ok(b, hub, "/console/content/new").await?;
    let token = csrf(&page)?;
    let form = reqwest::multipart::Form::new().text("csrf", token).part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
    );
    let cookies: Vec<String> = b.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
    Ok(hub
        .http
        .post(hub.url("/console/content/files"))
        .header("cookie", cookies.join("; "))
        .header("origin", &hub.base)
        .multipart(form)
        .send()
        .await?)
}

/// Sends only the headers of an upload declaring `length` bytes and returns the status line
/// answered within two seconds (an error when nothing is answered before the body comes).
async fn declare_upload(hub: &TestHub, b: &Browser, length: usize) -> Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = hub.base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await?;
    let cookies: Vec<String> = b.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let head = format!(
        "POST /console/content/files HTTP/1.1\r\nHost: {addr}\r\nOrigin: {}\r\n\
         Cookie: {}\r\nContent-Type: multipart/form-data; boundary=b\r\n\
         Content-Length: {length}\r\n\r\n",
        hub.base,
        cookies.join("; ")
    );
    tcp.write_all(head.as_bytes()).await?;
    let mut buf = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(2), tcp.read(&mut buf))
        .await
        .context("no answer before the body")??;
    let text = String::from_utf8_lossy(&buf[..n]);
    Ok(text.lines().next().unwrap_or_default().to_owned())
}

async fn uploads_are_typed_by_their_content_and_limited(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[("HUB_CONTENT__MAX_UPLOAD_BYTES", "2000000")]).await?;
    let mut ed = console(&hub, "editor1", Role::ContentEditor).await?;
    // A PNG named .exe is an image; a script named .png is refused.
    let ok = upload(&hub, &mut ed, "图片.exe", PNG.to_vec()).await?;
    ensure!(ok.status() == 201, "png: {}", ok.status());
    let f: serde_json::Value = ok.json().await?;
    ensure!(
        f["content_type"] == "image/png" && f["is_image"] == true,
        "{f}"
    );
    let script = upload(
        &hub,
        &mut ed,
        "x.png",
        b"<svg onload=alert(1)><script>alert(1)</script></svg>".to_vec(),
    )
    .await?;
    tests::assert_problem(script, 422, "content.file_rejected").await?;
    let exe = upload(
        &hub,
        &mut ed,
        "report.pdf",
        b"MZ\x90\x00\x03\x00\x00\x00binary".to_vec(),
    )
    .await?;
    tests::assert_problem(exe, 422, "content.file_rejected").await?;
    // Over the limit: refused on the declared length, before any of the body is sent (a
    // client that went on writing would see its connection closed instead of the answer).
    let status = declare_upload(&hub, &ed, 2_200_000).await?;
    ensure!(
        status.starts_with("HTTP/1.1 413"),
        "over the limit: {status}"
    );
    // Within the limit, the same declaration is waited on rather than refused.
    let status = declare_upload(&hub, &ed, 1_000_000).await;
    ensure!(status.is_err(), "answered before the body: {status:?}");
    // A download is typed as checked, never sniffed, and names the file.
    let res = hub.get(f["href"].as_str().context("href")?).await?;
    ensure!(res.status() == 200, "download {}", res.status());
    let h = res.headers();
    ensure!(
        h["content-type"] == "image/png" && h["x-content-type-options"] == "nosniff",
        "{h:?}"
    );
    ensure!(
        h["content-security-policy"].to_str()?.contains("sandbox"),
        "{h:?}"
    );
    ensure!(res.bytes().await?.as_ref() == PNG, "bytes changed");
    // Attached to an article when it is saved with it; listed as its attachment.
    let pdf = upload(
        &hub,
        &mut ed,
        "申报指南.pdf",
        b"%PDF-1.7\n1 0 obj\n".to_vec(),
    )
    .await?;
    let pdf: serde_json::Value = pdf.json().await?;
    let form = get_ok(&mut ed, &hub, "/console/content/new").await?;
    let token = csrf(&form)?;
    let done = post(
        &mut ed,
        &hub,
        "/console/content/new",
        &[
            ("csrf", &token),
            ("title", "附件测试"),
            ("body", "<p>见附件</p>"),
            ("columns", "notice"),
            ("files", pdf["id"].as_str().context("id")?),
            ("action", "save"),
        ],
    )
    .await?;
    let loc = done.location.context("no location")?;
    let page = get_ok(&mut ed, &hub, loc.split('?').next().unwrap_or_default()).await?;
    ensure!(page.body.contains("申报指南.pdf"), "attachment not listed");
    Ok(())
}

/// A local S3-compatible server (moto's), stopped when dropped.
struct S3Server {
    child: std::process::Child,
    url: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S3Server {
    /// Starts `moto_server` (`HUB_TEST_MOTO_SERVER`, else on the `PATH`) on a free port with
    /// the bucket `bucket`.
    async fn start(bucket: &str) -> Result<S3Server> {
        let program =
            std::env::var("HUB_TEST_MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = std::process::Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .with_context(|| {
                format!("cannot start `{program}`, the local S3-compatible server: install it with `python3 -m pip install 'moto[server]==5.2.1'` (.ci/run does) or set HUB_TEST_MOTO_SERVER")
            })?;
        let server = S3Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        loop {
            if let Ok(res) = tests::client()
                .put(format!("{}/{bucket}", server.url))
                .send()
                .await
                && res.status().is_success()
            {
                return Ok(server);
            }
            ensure!(
                started.elapsed() < Duration::from_secs(20),
                "the S3 server did not start"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

async fn files_go_to_an_s3_compatible_store(env: Env) -> Result<()> {
    let s3 = S3Server::start("hub-files").await?;
    let hub = federated_hub(
        &env,
        &[
            ("HUB_CONTENT__STORAGE", "s3"),
            ("HUB_CONTENT__S3_ENDPOINT", &s3.url),
            ("HUB_CONTENT__S3_BUCKET", "hub-files"),
            ("HUB_CONTENT__S3_ACCESS_KEY_ID", "hub-test"),
            ("HUB_CONTENT__S3_SECRET_ACCESS_KEY", "hub-test-secret"),
            ("HUB_CONTENT__S3_ALLOW_HTTP", "true"),
        ],
    )
    .await?;
    let mut ed = console(&hub, "editor1", Role::ContentEditor).await?;
    let mut rv = console(&hub, "reviewer1", Role::ContentReviewer).await?;
    let res = upload(&hub, &mut ed, "图.png", PNG.to_vec()).await?;
    ensure!(res.status() == 201, "upload: {}", res.status());
    let f: serde_json::Value = res.json().await?;
    let id = f["id"].as_str().context("id")?.to_owned();
    // The object is in the bucket under content/<id> (read with a client of its own), and the
    // hub serves it from there.
    let bucket = cms::files::FileStore::open(&cms::config::StorageConfig::S3 {
        endpoint: Some(s3.url.clone()),
        bucket: "hub-files".into(),
        region: "us-east-1".into(),
        access_key_id: "hub-test".into(),
        secret_access_key: platform::config::Secret::new("hub-test-secret"),
        allow_http: true,
    })?;
    ensure!(
        bucket.get(&id).await?.as_ref() == PNG,
        "the bucket holds other bytes"
    );
    let served = hub.get(&format!("/files/{id}")).await?;
    ensure!(
        served.status() == 200 && served.bytes().await?.as_ref() == PNG,
        "not served"
    );
    ensure!(
        !hub.state
            .config
            .platform
            .data_dir
            .join("files")
            .join("content")
            .join(&id)
            .exists(),
        "written to the local directory too"
    );
    // Purging the article deletes the object.
    let form = get_ok(&mut ed, &hub, "/console/content/new").await?;
    let token = csrf(&form)?;
    let done = post(
        &mut ed,
        &hub,
        "/console/content/new",
        &[
            ("csrf", &token),
            ("title", "对象存储"),
            ("body", "<p>正文</p>"),
            ("columns", "news"),
            ("files", &id),
            ("action", "save"),
        ],
    )
    .await?;
    let loc = done.location.context("no location")?;
    let article = loc
        .trim_start_matches("/console/content/")
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    step(&hub, &mut rv, &article, "delete", &[]).await?;
    see_other(
        &step(&hub, &mut rv, &article, "purge", &[]).await?,
        "/console/content?bin=1&ok=purged",
    )?;
    ensure!(
        matches!(bucket.get(&id).await, Err(cms::CmsError::FileNotFound(_))),
        "the object outlived its article"
    );
    // A store that cannot be reached is an error people can act on, not a lost file.
    drop(s3);
    let res = upload(&hub, &mut ed, "图.png", PNG.to_vec()).await?;
    tests::assert_problem(res, 503, "content.storage_unavailable").await?;
    let db = hub.store.connect().await?;
    let rows = db.scalar_i64("SELECT COUNT(*) FROM content_files").await?;
    ensure!(rows == 0, "a file row without its object: {rows}");
    db.close().await;
    Ok(())
}

async fn a_department_writes_only_its_own_policies(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let mut op = console(&hub, "operator1", Role::SystemAdmin).await?;
    let mut rv = console(&hub, "reviewer1", Role::ContentReviewer).await?;
    let mut fin = html_browser();
    let mut other = html_browser();
    approved_org(
        &hub,
        &mut fin,
        &mut op,
        "personal-1",
        "government",
        "龙岩市财政局",
    )
    .await?;
    approved_org(
        &hub,
        &mut other,
        &mut op,
        "personal-2",
        "government",
        "龙岩市农业农村局",
    )
    .await?;
    // The user centre offers the department's policies.
    let centre = get_ok(&mut fin, &hub, "/user").await?;
    ensure!(centre.body.contains("/user/policies"), "no policies link");
    let form = get_ok(&mut fin, &hub, "/user/policies/new").await?;
    ensure!(
        form.body.contains("政策专题") && !form.body.contains("value=\"news\""),
        "a department may choose other columns"
    );
    let token = csrf(&form)?;
    // Another section is refused even if posted.
    let refused = post(
        &mut fin,
        &hub,
        "/user/policies/new",
        &[
            ("csrf", &token),
            ("title", "财政贴息"),
            ("body", "<p>正文</p>"),
            ("columns", "news"),
            ("action", "save"),
        ],
    )
    .await?;
    ensure!(
        refused.status == 422
            && refused
                .body
                .contains("政府部门只能在「政策专题」下发布内容"),
        "{} {}",
        refused.status,
        refused.body
    );
    let done = post(
        &mut fin,
        &hub,
        "/user/policies/new",
        &[
            ("csrf", &token),
            ("title", "龙岩市财政贴息资金管理办法"),
            ("body", "<p>贴息资金按季度拨付。</p>"),
            ("columns", "policy-longyan"),
            ("action", "submit"),
        ],
    )
    .await?;
    ensure!(done.status == 303, "{} {}", done.status, done.body);
    let loc = done.location.context("location")?;
    let path = loc.split('?').next().unwrap_or_default().to_owned();
    let id = path.trim_start_matches("/user/policies/").to_owned();
    // The other department cannot see or touch it.
    let theirs = other.get(&hub.url(&path)).await?;
    ensure!(
        theirs.status == 404,
        "another department sees it: {}",
        theirs.status
    );
    let list = get_ok(&mut other, &hub, "/user/policies").await?;
    ensure!(
        !list.body.contains("财政贴息资金"),
        "listed for another department"
    );
    let t = csrf(&get_ok(&mut other, &hub, "/user/policies/new").await?)?;
    let del = post(
        &mut other,
        &hub,
        &format!("/user/policies/{id}/delete"),
        &[("csrf", &t)],
    )
    .await?;
    ensure!(
        del.status == 404,
        "another department deleted it: {}",
        del.status
    );
    // A company (an enterprise, not a department) has no such page.
    let mut company = html_browser();
    sign_in(&mut company, &hub, "legal-1").await?;
    let none = company.get(&hub.url("/user/policies")).await?;
    ensure!(
        none.status == 403,
        "a company reached the department's page: {}",
        none.status
    );
    // Published by the platform's reviewer, it shows the department.
    see_other(
        &step(&hub, &mut rv, &id, "publish", &[]).await?,
        &format!("/console/content/{id}?ok=published"),
    )?;
    let page = get_ok(&mut html_browser(), &hub, &format!("/articles/{id}")).await?;
    ensure!(
        page.body.contains("发布部门：龙岩市财政局"),
        "{}",
        page.body
    );
    Ok(())
}

async fn page_views_are_counted_without_personal_data(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    for (referrer, n) in [
        (Some("https://www.baidu.com/s?wd=%E8%B4%B4%E6%81%AF"), 3),
        (Some("https://www.longyan.gov.cn/zwgk/"), 2),
        (None, 1),
    ] {
        for _ in 0..n {
            let mut req = hub
                .http
                .get(hub.url("/policies"))
                .header("user-agent", "Mozilla/5.0 测试");
            if let Some(r) = referrer {
                req = req.header("referer", r);
            }
            ensure!(req.send().await?.status() == 200, "policies");
        }
    }
    // Not counted: the console, the API, assets.
    hub.http.get(hub.url("/api/portal/figures")).send().await?;
    let mut rv = console(&hub, "reviewer1", Role::ContentReviewer).await?;
    let started = Instant::now();
    let page = loop {
        let page = get_ok(&mut rv, &hub, "/console/stats").await?;
        if page.body.contains("百度") || started.elapsed() > Duration::from_secs(3) {
            break page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for text in [
        "百度",
        "贴息",
        "www.longyan.gov.cn",
        "/policies",
        "政策专题",
        "<svg",
    ] {
        ensure!(page.body.contains(text), "the statistics lack {text}");
    }
    let db = hub.store.connect().await?;
    let views = db
        .scalar_i64(
            "SELECT CAST(SUM(views) AS BIGINT) FROM page_views_daily WHERE path = '/policies'",
        )
        .await?;
    ensure!(views == 6, "views: {views}");
    let entries = db
        .scalar_i64(
            "SELECT CAST(SUM(entries) AS BIGINT) FROM page_views_daily WHERE path = '/policies'",
        )
        .await?;
    ensure!(entries == 6, "entries: {entries}");
    let apis = db.scalar_i64("SELECT COUNT(*) FROM page_views_daily WHERE path LIKE '/api/%' OR path LIKE '/console%'").await?;
    ensure!(apis == 0, "API or console views counted");
    // One visitor (same address and browser), kept only as a 16-byte HMAC.
    let visitors = db
        .scalar_i64("SELECT COUNT(*) FROM page_visitors_daily")
        .await?;
    ensure!(visitors == 1, "visitors: {visitors}");
    let len = db
        .scalar_i64("SELECT CAST(LENGTH(visitor) AS BIGINT) FROM page_visitors_daily")
        .await?;
    ensure!(len == 16, "visitor length {len}");
    let leaked = db
        .scalar_i64("SELECT COUNT(*) FROM page_referrers_daily WHERE source LIKE '%127.0.0.1%' OR term LIKE '%Mozilla%'")
        .await?;
    ensure!(leaked == 0, "personal data in the statistics");
    db.close().await;
    // The JSON report is the same function.
    let token = hub.token(Role::ContentReviewer).await?;
    let report = hub
        .get_json(&token, "/api/admin/stats?period=month")
        .await?;
    ensure!(
        report["total_views"].as_i64() == Some(6) && report["period"] == "month",
        "{report}"
    );
    Ok(())
}

async fn followers_get_recommendations_from_what_they_follow(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let mut ed = console(&hub, "editor1", Role::ContentEditor).await?;
    let mut rv = console(&hub, "reviewer1", Role::ContentReviewer).await?;
    let a = write(
        &hub,
        &mut ed,
        "红色金融故事：闽西苏区的第一家银行",
        "<p>闽西工农银行的故事。</p>",
        &["education-red"],
        "红色金融",
        "submit",
    )
    .await?;
    let b = write(
        &hub,
        &mut ed,
        "企业征信报告怎么看",
        "<p>征信报告的结构。</p>",
        &["education-knowledge"],
        "征信",
        "submit",
    )
    .await?;
    for id in [&a, &b] {
        see_other(
            &step(&hub, &mut rv, id, "publish", &[]).await?,
            &format!("/console/content/{id}?ok=published"),
        )?;
    }
    let mut user = html_browser();
    sign_in(&mut user, &hub, "personal-1").await?;
    let before = get_ok(&mut user, &hub, "/user").await?;
    ensure!(
        before.body.contains("您还没有关注栏目或标签"),
        "no empty state"
    );
    // Follow the tag 征信 from the article page.
    let page = get_ok(&mut user, &hub, &format!("/articles/{b}")).await?;
    let token = csrf(&page)?;
    let followed = post(
        &mut user,
        &hub,
        "/follow",
        &[
            ("csrf", &token),
            ("kind", "tag"),
            ("target", "征信"),
            ("on", "1"),
            ("return_to", &format!("/articles/{b}")),
        ],
    )
    .await?;
    see_other(&followed, &format!("/articles/{b}?ok=followed"))?;
    let centre = get_ok(&mut user, &hub, "/user").await?;
    let rec = centre
        .body
        .split("id=\"recommended\"")
        .nth(1)
        .context("no recommendations")?;
    let rec = rec.split("</ul>").next().unwrap_or_default();
    ensure!(
        rec.contains("企业征信报告怎么看") && !rec.contains("红色金融故事"),
        "{rec}"
    );
    let home = get_ok(&mut user, &hub, "/").await?;
    ensure!(home.body.contains("为您推荐"), "home does not recommend");
    // Unfollowing empties it again; a bad follow is refused in Chinese.
    let bad = post(
        &mut user,
        &hub,
        "/follow",
        &[
            ("csrf", &token),
            ("kind", "column"),
            ("target", "nope"),
            ("on", "1"),
        ],
    )
    .await?;
    ensure!(bad.status == 404, "{} {}", bad.status, bad.body);
    let no_token = post(
        &mut user,
        &hub,
        "/follow",
        &[("kind", "tag"), ("target", "征信"), ("on", "0")],
    )
    .await?;
    ensure!(
        no_token.status == 403,
        "a follow without a token: {}",
        no_token.status
    );
    Ok(())
}

async fn the_library_pages_manage_columns_words_links_and_dictionary(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let mut rv = console(&hub, "reviewer1", Role::ContentReviewer).await?;
    let mut ed = console(&hub, "editor1", Role::ContentEditor).await?;
    ensure!(
        ed.get(&hub.url("/console/library")).await?.status == 403,
        "an editor manages the library"
    );
    // A sub-column under 金融教育 appears as a tab.
    let page = get_ok(&mut rv, &hub, "/console/library").await?;
    let token = csrf(&page)?;
    let added = post(
        &mut rv,
        &hub,
        "/console/library",
        &[
            ("csrf", &token),
            ("form", "column_add"),
            ("parent", "education"),
            ("name", "农村金融"),
        ],
    )
    .await?;
    see_other(&added, "/console/library?ok=column_added")?;
    let dup = post(
        &mut rv,
        &hub,
        "/console/library",
        &[
            ("csrf", &token),
            ("form", "column_add"),
            ("parent", "education"),
            ("name", "农村金融"),
        ],
    )
    .await?;
    ensure!(
        dup.status == 422
            && dup.body.contains("已有同名子栏目")
            && dup.body.contains("value=\"农村金融\""),
        "{}",
        dup.body
    );
    ensure!(
        get_ok(&mut html_browser(), &hub, "/education")
            .await?
            .body
            .contains("农村金融"),
        "no tab"
    );
    // Bulk import: a file of words, one per line.
    let mut file = String::from("# 违法金融\n");
    for i in 0..2000 {
        file.push_str(&format!("违规词{i:04}\n"));
    }
    let form = reqwest::multipart::Form::new()
        .text("csrf", token.clone())
        .text("word_category", "批量")
        .part(
            "file",
            reqwest::multipart::Part::bytes(file.into_bytes()).file_name("words.txt"),
        );
    let cookies: Vec<String> = rv.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let res = hub
        .http
        .post(hub.url("/console/library/words/import"))
        .header("cookie", cookies.join("; "))
        .header("origin", &hub.base)
        .multipart(form)
        .send()
        .await?;
    ensure!(res.status() == 303, "import: {}", res.status());
    ensure!(
        res.headers()["location"] == "/console/library?added=2000",
        "{:?}",
        res.headers()["location"]
    );
    ensure!(
        hub.state.cms.matcher().find("含有违规词1999的文本") == ["违规词1999"],
        "not loaded"
    );
    // A keyword link is added to articles saved afterwards.
    let linked = post(
        &mut rv,
        &hub,
        "/console/library",
        &[
            ("csrf", &token),
            ("form", "link_set"),
            ("keyword", "征信"),
            ("url", "/search?q=征信"),
        ],
    )
    .await?;
    see_other(&linked, "/console/library?ok=link_set")?;
    let bad = post(
        &mut rv,
        &hub,
        "/console/library",
        &[
            ("csrf", &token),
            ("form", "link_set"),
            ("keyword", "坏链接"),
            ("url", "javascript:alert(1)"),
        ],
    )
    .await?;
    ensure!(
        bad.status == 422 && bad.body.contains("链接须以"),
        "{}",
        bad.body
    );
    let id = write(
        &hub,
        &mut ed,
        "关键词",
        "<p>查询征信报告</p>",
        &["news"],
        "",
        "save",
    )
    .await?;
    let stored = hub.state.cms.get(&id).await?;
    ensure!(
        stored
            .body
            .contains("<a class=\"keyword\" href=\"/search?q=征信\">征信</a>"),
        "{}",
        stored.body
    );
    // The dictionary: a new entry, a refused code.
    let entry = post(
        &mut rv,
        &hub,
        "/console/library",
        &[
            ("csrf", &token),
            ("form", "entry_set"),
            ("category", "industry"),
            ("code", "forestry"),
            ("label", "林业"),
        ],
    )
    .await?;
    see_other(&entry, "/console/library?ok=entry_set")?;
    let opts = hub.state.cms.options("industry").await?;
    ensure!(
        opts.iter().any(|(c, l)| c == "forestry" && l == "林业"),
        "{opts:?}"
    );
    let bad = post(
        &mut rv,
        &hub,
        "/console/library",
        &[
            ("csrf", &token),
            ("form", "entry_set"),
            ("category", "Industry!"),
            ("code", "x"),
            ("label", ""),
        ],
    )
    .await?;
    ensure!(
        bad.status == 422
            && bad.body.contains("类别代码只能用小写字母")
            && bad.body.contains("请填写名称"),
        "{}",
        bad.body
    );
    Ok(())
}

async fn the_json_endpoints_list_read_and_search(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let mut ed = console(&hub, "editor1", Role::ContentEditor).await?;
    let mut rv = console(&hub, "reviewer1", Role::ContentReviewer).await?;
    let title_hit = write(
        &hub,
        &mut ed,
        "融资担保政策汇编",
        "<p>汇编正文。</p>",
        &["policy-fujian"],
        "担保",
        "submit",
    )
    .await?;
    let body_hit = write(
        &hub,
        &mut ed,
        "普惠金融服务进园区",
        "<p>银行介绍了担保和贴息服务。</p>",
        &["news"],
        "",
        "submit",
    )
    .await?;
    for id in [&title_hit, &body_hit] {
        step(&hub, &mut rv, id, "publish", &[]).await?;
    }
    // The title hit ranks first; a column filter narrows.
    let (found, _) = search_until(&hub, "担保", Duration::from_secs(1), |f| {
        ids(f).len() == 2
    })
    .await?;
    ensure!(
        ids(&found) == [title_hit.clone(), body_hit.clone()],
        "{found}"
    );
    let res = hub
        .http
        .get(hub.url("/api/search"))
        .query(&[("q", "担保"), ("column", "news")])
        .send()
        .await?;
    let news: serde_json::Value = res.json().await?;
    ensure!(ids(&news) == [body_hit.clone()], "{news}");
    let list: serde_json::Value = hub
        .http
        .get(hub.url("/api/articles?column=policy"))
        .send()
        .await?
        .json()
        .await?;
    ensure!(
        list["total"] == 1 && list["items"][0]["id"] == title_hit.as_str(),
        "{list}"
    );
    let bad = hub
        .http
        .get(hub.url("/api/articles?from=2026-13-40"))
        .send()
        .await?;
    tests::assert_problem(bad, 400, "request.invalid_query").await?;
    let missing = hub.http.get(hub.url("/api/articles/nope")).send().await?;
    tests::assert_problem(missing, 404, "content.not_found").await?;
    // The search page shows the same hits highlighted.
    let page = get_ok(&mut html_browser(), &hub, "/search?q=%E6%8B%85%E4%BF%9D").await?;
    ensure!(
        page.body.contains("融资<mark>担保</mark>政策汇编"),
        "{}",
        page.body
    );
    Ok(())
}

async fn the_reindex_command_rebuilds_every_nodes_index(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let mut ed = console(&hub, "editor1", Role::ContentEditor).await?;
    let mut rv = console(&hub, "reviewer1", Role::ContentReviewer).await?;
    let id = write(
        &hub,
        &mut ed,
        "林权抵押贷款指南",
        "<p>林权可以抵押。</p>",
        &["education-knowledge"],
        "",
        "submit",
    )
    .await?;
    step(&hub, &mut rv, &id, "publish", &[]).await?;
    search_until(&hub, "林权", Duration::from_secs(1), |f| {
        ids(f).contains(&id)
    })
    .await?;
    let before = hub.state.cms.index_location().to_owned();
    let out = hub_command(Some(&hub.store))
        .args(["search", "reindex"])
        .output()?;
    ensure!(
        out.status.success(),
        "reindex failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    ensure!(text.contains("rebuild"), "{text} (index at {before})");
    // The running hub rebuilt too (the request went through the change log) and still finds it.
    search_until(&hub, "林权", Duration::from_secs(2), |f| {
        ids(f).contains(&id)
    })
    .await?;
    let db = hub.store.connect().await?;
    let asked = db
        .scalar_i64("SELECT COUNT(*) FROM content_changes WHERE article_id = '*'")
        .await?;
    ensure!(asked == 1, "no rebuild request in the change log");
    db.close().await;
    Ok(())
}
