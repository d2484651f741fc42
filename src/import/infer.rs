//! What a statement line does not say outright but the fraud rules need:
//! how a transaction was made (online, at a till, at an ATM, a transfer)
//! and the merchant's country. Read from the OFX transaction type when there
//! is one, else from the description, cautiously: when in doubt a charge is
//! a card-present purchase in the customer's own country.

use std::sync::OnceLock;

use crate::domain::{Channel, Money};

/// What an OFX `<TRNTYPE>` tells: a channel (if it decides one) and a category.
pub fn ofx_type(trntype: &str) -> (Option<Channel>, &'static str) {
    match trntype.trim().to_ascii_uppercase().as_str() {
        "INT" => (Some(Channel::Deposit), "Interest"),
        "DIV" => (Some(Channel::Deposit), "Dividend"),
        "DEP" | "DIRECTDEP" => (Some(Channel::Deposit), "Deposit"),
        "FEE" | "SRVCHG" => (Some(Channel::Transfer), "Fees"),
        "ATM" | "CASH" => (Some(Channel::Atm), "Cash"),
        "XFER" => (Some(Channel::Transfer), "Transfer"),
        "CHECK" => (Some(Channel::Transfer), "Check"),
        "PAYMENT" | "DIRECTDEBIT" | "REPEATPMT" => (Some(Channel::Transfer), "Payment"),
        _ => (None, UNCATEGORIZED),
    }
}

pub const UNCATEGORIZED: &str = "Uncategorized";

/// The category of a transaction without one, from its channel.
pub fn category(channel: Channel) -> &'static str {
    match channel {
        Channel::Deposit => "Deposit",
        Channel::Atm => "Cash",
        Channel::Transfer => "Transfer",
        Channel::CardPresent | Channel::Online => UNCATEGORIZED,
    }
}

const TRANSFER_WORDS: &[&str] = &[
    "transfer",
    "xfer",
    "zelle",
    "venmo",
    " ach ",
    "autopay",
    "payment thank you",
    "online payment",
    "bill pay",
    " wire ",
    "direct debit",
    "check #",
];
const ATM_WORDS: &[&str] = &[" atm ", " atm:", "cash withdrawal"];
const ONLINE_WORDS: &[&str] =
    &[".com", ".net", ".org", ".io", ".co.uk", "www.", "http", "paypal", "amzn mktp", "online", "internet"];

/// How the money moved: the OFX type's say if it has one, else the words of
/// the description; money arriving is a deposit unless it is a transfer.
pub fn channel(hint: Option<Channel>, description: &str, amount: Money) -> Channel {
    if let Some(c) = hint {
        if c == Channel::Deposit && amount.is_negative() {
            return Channel::Transfer;
        }
        return c;
    }
    // Padded, so that " atm " matches a whole word at either end.
    let d = format!(" {} ", description.to_lowercase());
    let has = |words: &[&str]| words.iter().any(|w| d.contains(w));
    if has(TRANSFER_WORDS) {
        Channel::Transfer
    } else if !amount.is_negative() {
        Channel::Deposit
    } else if has(ATM_WORDS) {
        Channel::Atm
    } else if has(ONLINE_WORDS) {
        Channel::Online
    } else {
        Channel::CardPresent
    }
}

/// The merchant's country: card descriptions end with a location such as
/// `LONDON GB`. A final two-letter ISO 3166 code counts; for a customer in
/// the US, US state codes (which overlap country codes: CA, GA, DE …) mean
/// the US. Anything else is the customer's home country.
pub fn country(description: &str, home: &str) -> String {
    let mut words = description.split_whitespace().rev();
    let last = words.next().unwrap_or_default();
    let has_more = words.next().is_some();
    let is_code = last.len() == 2 && last.bytes().all(|b| b.is_ascii_uppercase());
    if has_more && is_code && is_iso_country(last) && !(home == "US" && is_us_region(last)) {
        return last.to_string();
    }
    home.to_string()
}

fn is_iso_country(code: &str) -> bool {
    static TABLE: OnceLock<CodeTable> = OnceLock::new();
    TABLE.get_or_init(|| CodeTable::new(ISO_3166_ALPHA2)).contains(code)
}

fn is_us_region(code: &str) -> bool {
    static TABLE: OnceLock<CodeTable> = OnceLock::new();
    TABLE.get_or_init(|| CodeTable::new(US_REGIONS)).contains(code)
}

/// A set of two-capital-letter codes, looked up in constant time (this runs
/// on every row of a statement).
struct CodeTable([bool; 26 * 26]);

impl CodeTable {
    fn new(codes: &str) -> Self {
        let mut t = [false; 26 * 26];
        for code in codes.split_whitespace() {
            if let Some(i) = CodeTable::index(code) {
                t[i] = true;
            }
        }
        CodeTable(t)
    }

    fn index(code: &str) -> Option<usize> {
        match code.as_bytes() {
            [a @ b'A'..=b'Z', b @ b'A'..=b'Z'] => Some(usize::from(a - b'A') * 26 + usize::from(b - b'A')),
            _ => None,
        }
    }

    fn contains(&self, code: &str) -> bool {
        CodeTable::index(code).is_some_and(|i| self.0[i])
    }
}

/// ISO 3166-1 alpha-2 codes.
const ISO_3166_ALPHA2: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN \
BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER \
ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO \
IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML \
MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT \
PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN \
TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// US states, DC, territories and military mail regions.
const US_REGIONS: &str = "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH \
NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI UM AA AE AP";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Currency;

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::USD)
    }

    #[test]
    fn channels_from_types_and_words() {
        assert_eq!(channel(Some(Channel::Atm), "WHATEVER", usd(-2000)), Channel::Atm);
        assert_eq!(channel(Some(Channel::Deposit), "INTEREST REVERSAL", usd(-5)), Channel::Transfer);
        assert_eq!(channel(None, "PAYPAL *GIFTCARDS LONDON GB", usd(-100)), Channel::Online);
        assert_eq!(channel(None, "NETFLIX.COM LOS GATOS CA", usd(-1599)), Channel::Online);
        assert_eq!(channel(None, "WHOLEFDS MKT 10234 AUSTIN TX", usd(-8217)), Channel::CardPresent);
        assert_eq!(channel(None, "ATM WITHDRAWAL 0042 MAIN ST", usd(-6000)), Channel::Atm);
        assert_eq!(channel(None, "Zelle payment to J SMITH", usd(-5000)), Channel::Transfer);
        assert_eq!(channel(None, "ONLINE PAYMENT THANK YOU", usd(50_000)), Channel::Transfer);
        assert_eq!(channel(None, "ACME CORP PAYROLL", usd(250_000)), Channel::Deposit);
        assert_eq!(channel(None, "ACHIEVEMENT TOYS", usd(-1_000)), Channel::CardPresent);
        assert_eq!(channel(None, "ACH DEBIT UTILITY CO", usd(-1_000)), Channel::Transfer);
    }

    #[test]
    fn countries_from_the_end_of_the_description() {
        assert_eq!(country("PAYPAL *GIFTCARDS LONDON GB", "US"), "GB");
        assert_eq!(country("SPOTIFY STOCKHOLM SE", "US"), "SE");
        assert_eq!(country("NETFLIX.COM LOS GATOS CA", "US"), "US", "CA is California here");
        assert_eq!(country("SHOP TORONTO CA", "GB"), "CA", "and Canada for a customer in the UK");
        assert_eq!(country("AMAZON MKTPLACE PMTS AMZN.COM/BILL WA", "US"), "US");
        assert_eq!(country("GB", "US"), "US", "a lone code is not a location");
        assert_eq!(country("TESCO STORES 2041 LONDON GB", "GB"), "GB");
        assert_eq!(country("Corner shop Lyon fr", "US"), "US", "only capitals count");
        assert_eq!(country("BOOKSHOP OXFORD XX", "US"), "US", "XX is no country");
    }

    #[test]
    fn ofx_types_map_to_channels_and_categories() {
        assert_eq!(ofx_type("int"), (Some(Channel::Deposit), "Interest"));
        assert_eq!(ofx_type("POS"), (None, UNCATEGORIZED));
        assert_eq!(ofx_type("CHECK"), (Some(Channel::Transfer), "Check"));
    }
}
