//! Products, demands and their states; what people type, checked into them (amounts in
//! integer fen, rates in integer basis points, terms in months — never floats).

use serde::Serialize;

use crate::money;

/// Where a product stands. Only `listed` products are public.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    Draft,
    Pending,
    Listed,
    Rejected,
    Unlisted,
}

impl ProductStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProductStatus::Draft => "draft",
            ProductStatus::Pending => "pending",
            ProductStatus::Listed => "listed",
            ProductStatus::Rejected => "rejected",
            ProductStatus::Unlisted => "unlisted",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            ProductStatus::Draft => "草稿",
            ProductStatus::Pending => "待审核",
            ProductStatus::Listed => "已上架",
            ProductStatus::Rejected => "已驳回",
            ProductStatus::Unlisted => "已下架",
        }
    }

    pub fn parse(t: &str) -> Option<ProductStatus> {
        [
            ProductStatus::Draft,
            ProductStatus::Pending,
            ProductStatus::Listed,
            ProductStatus::Rejected,
            ProductStatus::Unlisted,
        ]
        .into_iter()
        .find(|s| s.as_str() == t)
    }

    /// The institution may change the product (a change takes it off the market until the
    /// operators approve it again).
    pub fn editable(self) -> bool {
        !matches!(self, ProductStatus::Pending)
    }

    /// What the institution may submit for the operators' review.
    pub const SUBMITTABLE: [ProductStatus; 3] = [
        ProductStatus::Draft,
        ProductStatus::Rejected,
        ProductStatus::Unlisted,
    ];

    pub fn submittable(self) -> bool {
        Self::SUBMITTABLE.contains(&self)
    }

    /// Public, and so what the institution may take off the market (下架).
    pub fn listed(self) -> bool {
        self == ProductStatus::Listed
    }

    /// Waiting for the operators.
    pub fn reviewable(self) -> bool {
        self == ProductStatus::Pending
    }
}

/// Where a financing demand stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DemandStatus {
    /// Waiting for the operators' review.
    Pending,
    Rejected,
    /// In the market: institutions may take it.
    Open,
    /// Taken by one institution; the enterprise has not confirmed it yet.
    Taken,
    /// The enterprise confirmed the institution, which now sees who it is.
    Confirmed,
    Disbursed,
    Withdrawn,
    /// Deleted by the institution handling it, with a reason.
    Deleted,
}

impl DemandStatus {
    pub const ALL: [DemandStatus; 8] = [
        DemandStatus::Pending,
        DemandStatus::Rejected,
        DemandStatus::Open,
        DemandStatus::Taken,
        DemandStatus::Confirmed,
        DemandStatus::Disbursed,
        DemandStatus::Withdrawn,
        DemandStatus::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DemandStatus::Pending => "pending",
            DemandStatus::Rejected => "rejected",
            DemandStatus::Open => "open",
            DemandStatus::Taken => "taken",
            DemandStatus::Confirmed => "confirmed",
            DemandStatus::Disbursed => "disbursed",
            DemandStatus::Withdrawn => "withdrawn",
            DemandStatus::Deleted => "deleted",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            DemandStatus::Pending => "待审核",
            DemandStatus::Rejected => "已驳回",
            DemandStatus::Open => "对接中",
            DemandStatus::Taken => "已被抢单，待确认",
            DemandStatus::Confirmed => "已确认机构",
            DemandStatus::Disbursed => "已放款",
            DemandStatus::Withdrawn => "已撤回",
            DemandStatus::Deleted => "已删除",
        }
    }

    pub fn parse(t: &str) -> Option<DemandStatus> {
        DemandStatus::ALL.into_iter().find(|s| s.as_str() == t)
    }

    /// The winning institution sees the enterprise.
    pub fn reveals(self) -> bool {
        matches!(self, DemandStatus::Confirmed | DemandStatus::Disbursed)
    }

    /// The enterprise may change it (and so send it to review again).
    pub const EDITABLE: [DemandStatus; 3] = [
        DemandStatus::Pending,
        DemandStatus::Rejected,
        DemandStatus::Withdrawn,
    ];
    /// The enterprise may withdraw it: not yet taken.
    pub const WITHDRAWABLE: [DemandStatus; 3] = [
        DemandStatus::Pending,
        DemandStatus::Rejected,
        DemandStatus::Open,
    ];
    /// The institution holding it may return it to the market or delete it.
    pub const HELD: [DemandStatus; 2] = [DemandStatus::Taken, DemandStatus::Confirmed];

    pub fn editable(self) -> bool {
        Self::EDITABLE.contains(&self)
    }

    pub fn withdrawable(self) -> bool {
        Self::WITHDRAWABLE.contains(&self)
    }

    /// Waiting for the enterprise to confirm the institution that took it.
    pub fn confirmable(self) -> bool {
        self == DemandStatus::Taken
    }

    /// In the market: an institution may take it.
    pub fn takeable(self) -> bool {
        self == DemandStatus::Open
    }

    /// Waiting for the operators.
    pub fn reviewable(self) -> bool {
        self == DemandStatus::Pending
    }
}

impl DemandView {
    /// The viewer's institution holds it and may return or delete it.
    pub fn can_handle(&self) -> bool {
        self.taken_by_viewer && DemandStatus::HELD.contains(&self.status)
    }

    /// The viewer's institution holds it, confirmed, and may record the loan.
    pub fn can_disburse(&self) -> bool {
        self.taken_by_viewer && self.status == DemandStatus::Confirmed
    }

    /// The viewer's institution took it and waits for the enterprise's confirmation.
    pub fn awaiting_confirmation(&self) -> bool {
        self.taken_by_viewer && self.status == DemandStatus::Taken
    }
}

/// The kinds of institution (机构类型).
pub const INSTITUTION_KINDS: &[(&str, &str)] = &[
    ("bank", "银行"),
    ("guarantee", "担保公司"),
    ("microloan", "小额贷款公司"),
    ("insurance", "保险公司"),
    ("securities", "证券公司"),
    ("other", "其他金融机构"),
];

/// 债权 / 股权.
pub const PRODUCT_KINDS: &[(&str, &str)] = &[("debt", "债权融资"), ("equity", "股权融资")];

/// How the loan is applied for and granted.
pub const LOAN_METHODS: &[(&str, &str)] = &[
    ("online", "线上办理"),
    ("offline", "线下办理"),
    ("both", "线上线下均可"),
];

/// The label of `code` in `list`, or the code itself.
pub fn label<'a>(list: &'a [(&'a str, &'a str)], code: &'a str) -> &'a str {
    list.iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, l)| *l)
}

/// A financial product of an institution.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Product {
    pub id: String,
    pub org_id: String,
    pub org_name: String,
    pub institution_kind: String,
    pub name: String,
    pub kind: String,
    pub guarantee: Vec<String>,
    pub loan_method: String,
    pub amount_min_fen: i64,
    pub amount_max_fen: i64,
    pub rate_min_bp: i64,
    pub rate_max_bp: i64,
    pub term_min_months: i64,
    pub term_max_months: i64,
    /// Empty: all of Longyan.
    pub regions: Vec<String>,
    /// Empty: any industry.
    pub industries: Vec<String>,
    pub conditions: String,
    pub intro: String,
    pub status: ProductStatus,
    pub reject_reason: Option<String>,
    pub held_words: Vec<String>,
    pub revision: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub listed_at: Option<i64>,
}

/// A financing demand as stored. Who may see which part of it is [`DemandView`]'s business.
#[derive(Clone, Debug)]
pub struct Demand {
    pub id: String,
    pub org_id: String,
    pub org_name: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub amount_fen: i64,
    pub term_months: i64,
    pub max_rate_bp: i64,
    pub guarantee: String,
    pub industry: String,
    pub region: String,
    pub purpose: String,
    pub tags: Vec<String>,
    pub status: DemandStatus,
    pub reject_reason: Option<String>,
    pub held_words: Vec<String>,
    pub taker_org_id: Option<String>,
    pub taker_org_name: Option<String>,
    pub taken_at: Option<i64>,
    pub confirmed_at: Option<i64>,
    pub disbursed_fen: Option<i64>,
    pub disbursed_on: Option<String>,
    pub closed_reason: Option<String>,
    /// The holding institution's member handling it (经办人).
    pub handler_account_id: Option<String>,
    pub handler_name: Option<String>,
    pub revision: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub opened_at: Option<i64>,
}

/// A demand as one viewer may see it: institutions other than a confirmed winner get no
/// enterprise name, USCC or contacts (`None`, never a placeholder that could be mistaken for
/// data).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct DemandView {
    pub id: String,
    /// The enterprise; `None` while anonymous to this viewer.
    pub enterprise: Option<Enterprise>,
    pub amount_fen: i64,
    pub term_months: i64,
    pub max_rate_bp: i64,
    pub guarantee: String,
    pub industry: String,
    pub region: String,
    pub purpose: String,
    pub tags: Vec<String>,
    pub status: DemandStatus,
    pub reject_reason: Option<String>,
    /// The institution handling it (shown to the enterprise and to that institution).
    pub taker_org_name: Option<String>,
    pub taken_by_viewer: bool,
    pub taken_at: Option<i64>,
    pub disbursed_fen: Option<i64>,
    pub disbursed_on: Option<String>,
    pub closed_reason: Option<String>,
    /// The holding institution's member handling it (经办人): shown to that institution only.
    pub handler_name: Option<String>,
    pub revision: i64,
    pub created_at: i64,
    pub opened_at: Option<i64>,
}

/// Who the enterprise behind a demand is.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Enterprise {
    pub org_id: String,
    pub name: String,
    /// Masked as the organisation's members see it (`9135**********0029`).
    pub uscc_masked: Option<String>,
    pub contact_name: String,
    pub contact_phone: String,
}

/// One step in a demand's history.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct DemandEvent {
    pub at: i64,
    pub action: String,
    pub action_label: &'static str,
    pub detail: Option<String>,
}

pub fn action_label(action: &str) -> &'static str {
    match action {
        "submitted" => "提交需求",
        "approved" => "审核通过，进入需求市场",
        "rejected" => "审核驳回",
        "taken" => "机构抢单",
        "confirmed" => "企业确认对接机构",
        "returned" => "机构退回，重新进入需求市场",
        "disbursed" => "机构放款",
        "deleted" => "机构删除",
        "withdrawn" => "企业撤回",
        _ => "其他",
    }
}

/// A product's fields as typed in its form (or sent as JSON): text, checked by
/// [`ProductForm::check`].
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ProductForm {
    pub name: String,
    pub institution_kind: String,
    pub kind: String,
    pub guarantee: Vec<String>,
    pub loan_method: String,
    /// 万元, up to four decimals.
    pub amount_min: String,
    pub amount_max: String,
    /// Annual %, up to two decimals.
    pub rate_min: String,
    pub rate_max: String,
    /// Months.
    pub term_min: String,
    pub term_max: String,
    pub regions: Vec<String>,
    pub industries: Vec<String>,
    pub conditions: String,
    pub intro: String,
}

/// A product's fields, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductInput {
    pub name: String,
    pub institution_kind: String,
    pub kind: String,
    pub guarantee: Vec<String>,
    pub loan_method: String,
    pub amount_min_fen: i64,
    pub amount_max_fen: i64,
    pub rate_min_bp: i64,
    pub rate_max_bp: i64,
    pub term_min_months: i64,
    pub term_max_months: i64,
    pub regions: Vec<String>,
    pub industries: Vec<String>,
    pub conditions: String,
    pub intro: String,
}

/// The dictionary's codes a form may choose from.
#[derive(Clone, Debug, Default)]
pub struct Choices {
    pub guarantee: Vec<(String, String)>,
    pub industry: Vec<(String, String)>,
    pub region: Vec<(String, String)>,
}

impl Choices {
    pub fn label<'a>(list: &'a [(String, String)], code: &'a str) -> &'a str {
        list.iter()
            .find(|(c, _)| c == code)
            .map_or(code, |(_, l)| l.as_str())
    }
}

pub(crate) type Errors = Vec<(String, String)>;

pub(crate) fn text(
    errors: &mut Errors,
    field: &str,
    value: &str,
    what: &str,
    max: usize,
    required: bool,
) -> String {
    let v = value.trim();
    if required && v.is_empty() {
        errors.push((field.into(), format!("请填写{what}。")));
    } else if v.chars().count() > max {
        errors.push((field.into(), format!("{what}不能超过 {max} 字。")));
    }
    v.to_owned()
}

fn one_of(errors: &mut Errors, field: &str, value: &str, what: &str, codes: &[&str]) -> String {
    let v = value.trim();
    if !codes.contains(&v) {
        errors.push((field.into(), format!("请选择{what}。")));
    }
    v.to_owned()
}

fn some_of(
    errors: &mut Errors,
    field: &str,
    values: &[String],
    what: &str,
    codes: &[(String, String)],
    required: bool,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
        if !codes.iter().any(|(c, _)| c == v) {
            errors.push((field.into(), format!("{what}中有无效的选项，请重新选择。")));
            return out;
        }
        if !out.iter().any(|o| o == v) {
            out.push(v.to_owned());
        }
    }
    if required && out.is_empty() {
        errors.push((field.into(), format!("请至少选择一项{what}。")));
    }
    out
}

/// The contact person and telephone of a form (`contact_name`, `contact_phone`): a name of up
/// to 30 characters, and 7 to 20 digits or hyphens (mobile or landline).
pub(crate) fn contact(errors: &mut Errors, name: &str, phone: &str) -> (String, String) {
    let name = text(errors, "contact_name", name, "联系人", 30, true);
    let phone = phone.trim().to_owned();
    let ok =
        (7..=20).contains(&phone.len()) && phone.chars().all(|c| c.is_ascii_digit() || c == '-');
    if !ok {
        errors.push((
            "contact_phone".into(),
            "请填写正确的联系电话（手机或座机号码）。".into(),
        ));
    }
    (name, phone)
}

pub(crate) fn amount(errors: &mut Errors, field: &str, value: &str, what: &str) -> i64 {
    match money::wan_to_fen(value) {
        Ok(f) if f > 0 => f,
        Ok(_) => {
            errors.push((field.into(), format!("{what}必须大于 0。")));
            0
        }
        Err(m) => {
            errors.push((field.into(), format!("{what}{m}")));
            0
        }
    }
}

fn rate(errors: &mut Errors, field: &str, value: &str, what: &str) -> i64 {
    match money::percent_to_bp(value) {
        Ok(b) if b <= 3600 => b,
        Ok(_) => {
            errors.push((field.into(), format!("{what}不能超过 36%。")));
            0
        }
        Err(m) => {
            errors.push((field.into(), format!("{what}{m}")));
            0
        }
    }
}

pub(crate) fn months(errors: &mut Errors, field: &str, value: &str, what: &str) -> i64 {
    match value.trim().parse::<i64>() {
        Ok(m) if (1..=360).contains(&m) => m,
        _ => {
            errors.push((
                field.into(),
                format!("{what}请填写 1 至 360 之间的整数月数。"),
            ));
            0
        }
    }
}

fn codes(list: &[(&'static str, &'static str)]) -> Vec<&'static str> {
    list.iter().map(|(c, _)| *c).collect()
}

impl ProductForm {
    /// Checks every field and reports every problem at once, in the form's order.
    pub fn check(&self, choices: &Choices) -> Result<ProductInput, Errors> {
        let mut e = Errors::new();
        let name = text(&mut e, "name", &self.name, "产品名称", 60, true);
        let institution_kind = one_of(
            &mut e,
            "institution_kind",
            &self.institution_kind,
            "机构类型",
            &codes(INSTITUTION_KINDS),
        );
        let kind = one_of(
            &mut e,
            "kind",
            &self.kind,
            "产品类型",
            &codes(PRODUCT_KINDS),
        );
        let guarantee = some_of(
            &mut e,
            "guarantee",
            &self.guarantee,
            "担保方式",
            &choices.guarantee,
            true,
        );
        let loan_method = one_of(
            &mut e,
            "loan_method",
            &self.loan_method,
            "办理方式",
            &codes(LOAN_METHODS),
        );
        let amount_min_fen = amount(&mut e, "amount_min", &self.amount_min, "最低额度");
        let amount_max_fen = amount(&mut e, "amount_max", &self.amount_max, "最高额度");
        if amount_min_fen > 0 && amount_max_fen > 0 && amount_min_fen > amount_max_fen {
            e.push(("amount_max".into(), "最高额度不能低于最低额度。".into()));
        }
        let rate_min_bp = rate(&mut e, "rate_min", &self.rate_min, "最低年利率");
        let rate_max_bp = rate(&mut e, "rate_max", &self.rate_max, "最高年利率");
        if rate_min_bp > rate_max_bp {
            e.push(("rate_max".into(), "最高年利率不能低于最低年利率。".into()));
        }
        let term_min_months = months(&mut e, "term_min", &self.term_min, "最短期限");
        let term_max_months = months(&mut e, "term_max", &self.term_max, "最长期限");
        if term_min_months > 0 && term_max_months > 0 && term_min_months > term_max_months {
            e.push(("term_max".into(), "最长期限不能短于最短期限。".into()));
        }
        let regions = some_of(
            &mut e,
            "regions",
            &self.regions,
            "服务区域",
            &choices.region,
            false,
        );
        let industries = some_of(
            &mut e,
            "industries",
            &self.industries,
            "适用行业",
            &choices.industry,
            false,
        );
        let conditions = text(
            &mut e,
            "conditions",
            &self.conditions,
            "申请条件",
            2000,
            true,
        );
        let intro = text(&mut e, "intro", &self.intro, "产品介绍", 5000, false);
        if !e.is_empty() {
            return Err(e);
        }
        Ok(ProductInput {
            name,
            institution_kind,
            kind,
            guarantee,
            loan_method,
            amount_min_fen,
            amount_max_fen,
            rate_min_bp,
            rate_max_bp,
            term_min_months,
            term_max_months,
            regions,
            industries,
            conditions,
            intro,
        })
    }

    /// The form as a stored product fills it in (for editing).
    pub fn of(p: &Product) -> ProductForm {
        ProductForm {
            name: p.name.clone(),
            institution_kind: p.institution_kind.clone(),
            kind: p.kind.clone(),
            guarantee: p.guarantee.clone(),
            loan_method: p.loan_method.clone(),
            amount_min: money::fen_to_wan(p.amount_min_fen),
            amount_max: money::fen_to_wan(p.amount_max_fen),
            rate_min: money::bp_to_percent(p.rate_min_bp),
            rate_max: money::bp_to_percent(p.rate_max_bp),
            term_min: p.term_min_months.to_string(),
            term_max: p.term_max_months.to_string(),
            regions: p.regions.clone(),
            industries: p.industries.clone(),
            conditions: p.conditions.clone(),
            intro: p.intro.clone(),
        }
    }
}

/// A demand's fields as typed in its form.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct DemandForm {
    /// 万元, up to four decimals.
    pub amount: String,
    /// Months.
    pub term: String,
    /// The highest acceptable annual rate, %.
    pub max_rate: String,
    pub guarantee: String,
    pub industry: String,
    pub region: String,
    pub purpose: String,
    /// Self-assessment tags, separated by spaces, commas or 、.
    pub tags: String,
    pub contact_name: String,
    pub contact_phone: String,
}

/// A demand's fields, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemandInput {
    pub amount_fen: i64,
    pub term_months: i64,
    pub max_rate_bp: i64,
    pub guarantee: String,
    pub industry: String,
    pub region: String,
    pub purpose: String,
    pub tags: Vec<String>,
    pub contact_name: String,
    pub contact_phone: String,
}

fn single(
    errors: &mut Errors,
    field: &str,
    value: &str,
    what: &str,
    codes: &[(String, String)],
) -> String {
    let v = value.trim();
    if !codes.iter().any(|(c, _)| c == v) {
        errors.push((field.into(), format!("请选择{what}。")));
    }
    v.to_owned()
}

impl DemandForm {
    pub fn check(&self, choices: &Choices) -> Result<DemandInput, Errors> {
        let mut e = Errors::new();
        let amount_fen = amount(&mut e, "amount", &self.amount, "融资金额");
        let term_months = months(&mut e, "term", &self.term, "融资期限");
        let max_rate_bp = rate(&mut e, "max_rate", &self.max_rate, "可接受的最高年利率");
        if max_rate_bp == 0 && !e.iter().any(|(f, _)| f == "max_rate") {
            e.push(("max_rate".into(), "可接受的最高年利率必须大于 0。".into()));
        }
        let guarantee = single(
            &mut e,
            "guarantee",
            &self.guarantee,
            "担保方式",
            &choices.guarantee,
        );
        let industry = single(
            &mut e,
            "industry",
            &self.industry,
            "所属行业",
            &choices.industry,
        );
        let region = single(&mut e, "region", &self.region, "所在区域", &choices.region);
        let purpose = text(&mut e, "purpose", &self.purpose, "资金用途", 1000, true);
        let tags: Vec<String> = self
            .tags
            .split(|c: char| c.is_whitespace() || c == ',' || c == '，' || c == '、')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        if tags.len() > 10 || tags.iter().any(|t| t.chars().count() > 20) {
            e.push((
                "tags".into(),
                "自评标签最多 10 个，每个不超过 20 字。".into(),
            ));
        }
        let (contact_name, contact_phone) =
            contact(&mut e, &self.contact_name, &self.contact_phone);
        if !e.is_empty() {
            return Err(e);
        }
        Ok(DemandInput {
            amount_fen,
            term_months,
            max_rate_bp,
            guarantee,
            industry,
            region,
            purpose,
            tags,
            contact_name,
            contact_phone,
        })
    }

    pub fn of(d: &Demand) -> DemandForm {
        DemandForm {
            amount: money::fen_to_wan(d.amount_fen),
            term: d.term_months.to_string(),
            max_rate: money::bp_to_percent(d.max_rate_bp),
            guarantee: d.guarantee.clone(),
            industry: d.industry.clone(),
            region: d.region.clone(),
            purpose: d.purpose.clone(),
            tags: d.tags.join(" "),
            contact_name: d.contact_name.clone(),
            contact_phone: d.contact_phone.clone(),
        }
    }
}

/// The public product list's filters (all optional); amounts in fen, rates in bp.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProductFilter {
    pub institution_kind: Option<String>,
    pub kind: Option<String>,
    pub guarantee: Option<String>,
    pub loan_method: Option<String>,
    /// The amount wanted: within the product's range.
    pub amount_fen: Option<i64>,
    /// The highest rate accepted: the product's lowest rate is at most this.
    pub max_rate_bp: Option<i64>,
    /// The term wanted: within the product's range.
    pub term_months: Option<i64>,
    pub org_id: Option<String>,
    /// Words of the name, the institution or the introduction.
    pub q: Option<String>,
    pub sort: ProductSort,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProductSort {
    #[default]
    Newest,
    RateLow,
    AmountHigh,
    TermLong,
}

impl ProductSort {
    pub const ALL: [(ProductSort, &'static str, &'static str); 4] = [
        (ProductSort::Newest, "newest", "最新上架"),
        (ProductSort::RateLow, "rate", "利率最低"),
        (ProductSort::AmountHigh, "amount", "额度最高"),
        (ProductSort::TermLong, "term", "期限最长"),
    ];

    pub fn parse(t: &str) -> ProductSort {
        ProductSort::ALL
            .iter()
            .find(|(_, c, _)| *c == t)
            .map_or(ProductSort::Newest, |(s, _, _)| *s)
    }
}

/// A reviewer's decision.
#[derive(Clone, Debug)]
pub enum Decision {
    Approve,
    Reject { reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choices() -> Choices {
        let pair = |c: &str, l: &str| (c.to_owned(), l.to_owned());
        Choices {
            guarantee: vec![pair("credit", "信用"), pair("mortgage", "抵押")],
            industry: vec![pair("manufacturing", "制造业")],
            region: vec![pair("xinluo", "新罗区")],
        }
    }

    fn good_product() -> ProductForm {
        ProductForm {
            name: "普惠信用贷".into(),
            institution_kind: "bank".into(),
            kind: "debt".into(),
            guarantee: vec!["credit".into(), "credit".into()],
            loan_method: "online".into(),
            amount_min: "10".into(),
            amount_max: "500".into(),
            rate_min: "3.45".into(),
            rate_max: "6".into(),
            term_min: "3".into(),
            term_max: "36".into(),
            regions: vec![],
            industries: vec!["manufacturing".into()],
            conditions: "经营满一年".into(),
            intro: String::new(),
        }
    }

    fn fields(e: &[(String, String)]) -> Vec<&str> {
        e.iter().map(|(f, _)| f.as_str()).collect()
    }

    #[test]
    fn a_good_product_is_kept_in_integers() {
        let p = good_product()
            .check(&choices())
            .unwrap_or_else(|e| unreachable!("{e:?}"));
        assert_eq!(p.amount_min_fen, 10_000_000);
        assert_eq!(p.amount_max_fen, 500_000_000);
        assert_eq!((p.rate_min_bp, p.rate_max_bp), (345, 600));
        assert_eq!(p.guarantee, ["credit"], "duplicates dropped");
    }

    #[test]
    fn every_problem_of_a_product_is_reported_at_once() {
        let mut f = good_product();
        f.name = " ".into();
        f.kind = "loan".into();
        f.guarantee = vec![];
        f.amount_min = "600".into();
        f.rate_max = "2".into();
        f.term_max = "400".into();
        f.regions = vec!["mars".into()];
        let e = f.check(&choices()).err().unwrap_or_default();
        assert_eq!(
            fields(&e),
            [
                "name",
                "kind",
                "guarantee",
                "amount_max",
                "rate_max",
                "term_max",
                "regions"
            ]
        );
        assert!(
            e.iter().all(|(_, m)| !m.is_empty() && !m.is_ascii()),
            "{e:?}"
        );
    }

    #[test]
    fn a_demand_needs_its_choices_a_rate_and_a_phone() {
        let f = DemandForm {
            amount: "150".into(),
            term: "12".into(),
            max_rate: "0".into(),
            guarantee: "credit".into(),
            industry: "farming".into(),
            region: "xinluo".into(),
            purpose: "采购".into(),
            tags: "纳税A级，高新技术企业".into(),
            contact_name: "林经理".into(),
            contact_phone: "1380000000x".into(),
        };
        let e = f.check(&choices()).err().unwrap_or_default();
        assert_eq!(fields(&e), ["max_rate", "industry", "contact_phone"]);
        let ok = DemandForm {
            max_rate: "5".into(),
            industry: "manufacturing".into(),
            contact_phone: "0597-2200001".into(),
            ..f
        }
        .check(&choices())
        .unwrap_or_else(|e| unreachable!("{e:?}"));
        assert_eq!(ok.tags, ["纳税A级", "高新技术企业"]);
        assert_eq!(ok.amount_fen, 150_000_000);
    }
}
