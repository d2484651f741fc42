//! The SimpleFIN protocol's Account Set, as `GET /accounts` answers it
//! (protocol v2). Unknown fields (`extra`, deprecated `errors`) are
//! tolerated; what finbox needs is required, so a malformed answer is
//! refused as a whole with the reason.

use serde::Deserialize;

/// What `GET /accounts` returns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct AccountSet {
    #[serde(default)]
    pub errlist: Vec<BridgeError>,
    #[serde(default)]
    pub connections: Vec<Connection>,
    pub accounts: Vec<Account>,
}

/// An error the bridge reports (`gen.`, `con.` or `act.` codes).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BridgeError {
    pub code: String,
    #[serde(alias = "message")]
    pub msg: String,
    pub conn_id: Option<String>,
    pub account_id: Option<String>,
}

/// One login at one institution.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Connection {
    pub conn_id: String,
    pub name: String,
    pub org_id: String,
    pub org_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Account {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub conn_id: Option<String>,
    /// ISO 4217, or a URL for a custom currency (points, miles).
    pub currency: String,
    /// Decimal strings, read exactly.
    pub balance: String,
    #[serde(rename = "available-balance")]
    pub available_balance: Option<String>,
    #[serde(rename = "balance-date")]
    pub balance_date: i64,
    #[serde(default)]
    pub transactions: Vec<Transaction>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Transaction {
    pub id: String,
    /// When it posted; 0 while pending.
    pub posted: i64,
    /// Positive: money in.
    pub amount: String,
    pub description: String,
    pub transacted_at: Option<i64>,
    pub pending: Option<bool>,
}

impl Transaction {
    pub fn is_pending(&self) -> bool {
        self.pending.unwrap_or(false) || self.posted == 0
    }
}

/// Reads an answer, or says what is wrong with it (where, and what).
pub fn parse(body: &[u8]) -> Result<AccountSet, String> {
    serde_json::from_slice(body).map_err(|e| format!("the bridge's answer is not a SimpleFIN account set ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_example_reads() {
        let set = parse(
            br#"{"errlist":[{"code":"con.auth","msg":"Authentication required","conn_id":"CON-1"}],
                 "connections":[{"conn_id":"CON-1","name":"My Bank - James","org_id":"INST-1",
                                 "org_url":"https://mybank.com","sfin_url":"https://mybank.com"}],
                 "accounts":[{"id":"2930002","name":"Savings","conn_id":"CON-1","currency":"USD",
                              "balance":"100.23","available-balance":"75.23","balance-date":978366153,
                              "transactions":[{"id":"1","posted":0,"amount":"-3.50","description":"Cafe",
                                               "pending":true,"extra":{"category":"food"}}],
                              "extra":{"account-open-date":978360153}}]}"#,
        )
        .unwrap();
        assert_eq!(set.errlist[0].code, "con.auth");
        assert_eq!(set.accounts[0].available_balance.as_deref(), Some("75.23"));
        assert!(set.accounts[0].transactions[0].is_pending());
        let err = parse(b"{\"accounts\": [{\"id\": 1}]}").unwrap_err();
        assert!(err.contains("not a SimpleFIN account set"), "{err}");
    }
}
