//! The sign-in pages people see (in Simplified Chinese): the logout confirmation and the
//! signed-out notice. Every value printed is escaped.

use platform::pages::{escape, page};

/// Asks before signing out (a link must not sign anyone out: the form posts, with a token).
pub fn logout_confirm(csrf: &str, return_to: &str) -> String {
    page(
        "退出登录",
        &format!(
            "<main>\n<h1>退出登录</h1>\n<p>确定要退出龙岩普惠金融平台吗？已通过省统一身份认证平台登录的，将同时退出该平台。</p>\n<form method=\"post\" action=\"/sso/logout\">\n<input type=\"hidden\" name=\"csrf\" value=\"{}\">\n<input type=\"hidden\" name=\"return_to\" value=\"{}\">\n<button type=\"submit\">确定退出</button>\n</form>\n<p><a href=\"{}\">取消</a></p>\n</main>",
            escape(csrf),
            escape(return_to),
            escape(return_to)
        ),
    )
}

pub fn signed_out() -> String {
    page(
        "已退出",
        "<main>\n<h1>您已退出登录</h1>\n<p><a href=\"/\">返回首页</a></p>\n</main>",
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_are_escaped() {
        assert!(super::logout_confirm("t", "/a\"b").contains("/a&quot;b"));
    }
}
