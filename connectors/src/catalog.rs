//! The platforms the hub ships with (`catalog/platforms.toml`), seeded into the store on first
//! start. From then on the store owns them; the file is only read again for its hosts, which
//! stay on the allowlist.

use serde::Deserialize;

use crate::definition::{Definition, HostAllowlist};

const PLATFORMS: &str = include_str!("../catalog/platforms.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    connector: Vec<Definition>,
}

/// The shipped definitions, in file order.
pub fn seed() -> Result<Vec<Definition>, String> {
    let file: File =
        toml::from_str(PLATFORMS).map_err(|e| format!("catalog/platforms.toml: {e}"))?;
    Ok(file.connector)
}

/// The hosts of the shipped links: always allowed, so the seed passes its own validation.
pub fn hosts() -> Vec<String> {
    let mut hosts: Vec<String> = seed()
        .unwrap_or_default()
        .iter()
        .filter_map(|d| d.url.as_deref())
        .filter_map(|u| url::Url::parse(u).ok())
        .filter_map(|u| u.host_str().map(str::to_owned))
        .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

/// The allowlist of the shipped hosts plus `extra` patterns.
pub fn allowlist<S: AsRef<str>>(extra: &[S]) -> Result<HostAllowlist, String> {
    let mut list = HostAllowlist::new(&hosts())?;
    for p in extra {
        list.add(p.as_ref())?;
    }
    Ok(list)
}

/// Every problem of the shipped file, for its test.
#[cfg(test)]
fn problems() -> Vec<String> {
    let seed = match seed() {
        Ok(s) => s,
        Err(e) => return vec![e],
    };
    use crate::definition::validate;
    let allow = allowlist::<&str>(&[]).unwrap_or_default();
    let mut out: Vec<String> = seed
        .iter()
        .flat_map(|d| {
            validate(d, &allow)
                .into_iter()
                .map(move |e| format!("{}: {e}", d.code))
        })
        .collect();
    let mut codes: Vec<&str> = seed.iter().map(|d| d.code.as_str()).collect();
    codes.sort_unstable();
    let n = codes.len();
    codes.dedup();
    if codes.len() != n {
        out.push("a code appears twice".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ten_platforms_ship_valid_with_exactly_these_codes() {
        assert_eq!(problems(), Vec::<String>::new());
        let seed = seed().unwrap();
        let codes: Vec<&str> = seed.iter().map(|d| d.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "safe-forex",
                "pbc-credit",
                "movable-registry",
                "receivables",
                "carbon",
                "coin-reservation",
                "account-permit",
                "mediation",
                "emission-rights",
                "forest-rights",
            ]
        );
        // Without a known public entry: shipped disabled, to be configured.
        for d in &seed {
            assert_eq!(d.enabled, d.url.is_some(), "{}", d.code);
            assert_eq!(d.handoff, crate::Handoff::None, "{}", d.code);
        }
        assert_eq!(
            hosts(),
            [
                "carbon.hxee.com.cn",
                "ipcrs.pbccrc.org.cn",
                "www.crcrfsp.com",
                "www.zhongdengwang.org.cn",
                "zwfw.safe.gov.cn",
            ]
        );
    }
}
