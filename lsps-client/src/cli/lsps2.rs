//! `lsps lsps2 …`: get-info and buy (`receive` runs a node: see `receive`).

use lsps_client::{BuyLimits, LspsClient};
use lsps_core::types::Msat;
use serde_json::{Value, json};

use super::args::BuyArgs;
use super::output::{Failure, Output, usage};

/// `lsps2 get-info`.
pub(crate) async fn get_info(
    client: &LspsClient,
    token: Option<String>,
    out: &Output,
) -> Result<(), Failure> {
    let menu = client.lsps2_get_info(token).await?;
    let raw: Vec<&Value> = menu.offers.iter().map(|o| &o.raw).collect();
    out.print(&json!({ "opening_fee_params_menu": raw }), || {
        menu_text(&menu.params())
    });
    Ok(())
}

/// `lsps2 buy`.
pub(crate) async fn buy(client: &LspsClient, args: &BuyArgs, out: &Output) -> Result<(), Failure> {
    let BuyArgs {
        menu_index,
        payment_size_msat,
        max_fee_msat,
        ref token,
        accept_client_trusts_lsp,
    } = *args;
    let menu = client.lsps2_get_info(token.clone()).await?;
    let offer = menu.offers.get(menu_index).ok_or_else(|| {
        usage(format!(
            "--menu-index {menu_index}: the menu has {} entries",
            menu.offers.len()
        ))
    })?;
    let entry = &offer.params;
    let limits = BuyLimits {
        max_fee_msat: max_fee_msat.map(Msat),
        accept_client_trusts_lsp,
    };
    let outcome = client
        .lsps2_buy(offer, payment_size_msat.map(Msat), &limits)
        .await?;
    let value = json!({
        "result": outcome.result,
        "opening_fee_params": offer.raw,
        "payment_size_msat": payment_size_msat.map(|s| s.to_string()),
        "opening_fee_msat": outcome.opening_fee_msat,
    });
    out.print(&value, || {
        let mut text = format!(
            "jit_channel_scid:      {}\nlsp_cltv_expiry_delta: {}\nclient_trusts_lsp:     {}\nvalid_until:           {}",
            outcome.result.jit_channel_scid,
            outcome.result.lsp_cltv_expiry_delta,
            outcome.result.client_trusts_lsp,
            entry.valid_until,
        );
        match (payment_size_msat, outcome.opening_fee_msat) {
            (Some(size), Some(fee)) => text.push_str(&format!(
                "\npayment_size_msat:     {size}\nopening_fee_msat:      {fee} (client receives {} msat)",
                size.saturating_sub(fee.get())
            )),
            _ => text.push_str(&format!(
                "\nmode:                  variable amount (no MPP); fee = max({} msat, {} ppm of the amount)",
                entry.min_fee_msat, entry.proportional
            )),
        }
        text
    });
    Ok(())
}

fn menu_text(menu: &[lsps_core::lsps2::OpeningFeeParams]) -> String {
    if menu.is_empty() {
        return "the LSP offers no JIT channels to this client (empty menu)".into();
    }
    let mut text = String::from(
        "#  min_fee_msat  proportional(ppm)  payment size msat (min..max)      valid_until               min_lifetime  max_client_to_self_delay",
    );
    for (i, e) in menu.iter().enumerate() {
        text.push_str(&format!(
            "\n{i:<2} {:<13} {:<18} {:<33} {:<25} {:<13} {}",
            e.min_fee_msat.to_string(),
            e.proportional.to_string(),
            format!("{}..{}", e.min_payment_size_msat, e.max_payment_size_msat),
            e.valid_until.to_string(),
            e.min_lifetime,
            e.max_client_to_self_delay,
        ));
    }
    text
}
