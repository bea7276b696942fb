//! The reference destination called directly: no sockets, no serialisation of set-up calls.

use kana_reference::CanonicalState;
use kana_reference::engine::{BillingCustomer, Faults, RuleSpec};
use kana_reference::service::{Destination, FeatureSpec, Refusal};

use super::{Delivery, Reply, Target, TargetError, TargetWorkspace, authorization};

/// The reference destination in this process.
#[derive(Debug, Default)]
pub struct InProcess {
    destination: Destination,
}

impl InProcess {
    pub fn new() -> Self {
        Self::default()
    }

    /// The reference with deliberate mistakes, for proving that scenarios catch them.
    pub fn with_faults(faults: Faults) -> Self {
        Self { destination: Destination::with_faults(faults) }
    }
}

fn reply<T>(result: Result<T, Refusal>, created: impl Fn(&T) -> bool) -> Reply {
    match result {
        Ok(value) if created(&value) => Reply { status: 201, message: None },
        Ok(_) => Reply { status: 200, message: None },
        Err(refusal) => Reply { status: refusal.status, message: Some(refusal.message) },
    }
}

impl Target for InProcess {
    fn describe(&self) -> String {
        "the reference destination, in-process".to_owned()
    }

    fn create_workspace(&self) -> Result<TargetWorkspace, TargetError> {
        let created = self.destination.create_workspace();
        Ok(TargetWorkspace::new(created.workspace, created.api_key))
    }

    fn deliver(
        &self,
        workspace: &TargetWorkspace,
        delivery: &Delivery,
    ) -> Result<Reply, TargetError> {
        let header = authorization(delivery.auth, &workspace.api_key);
        Ok(reply(self.destination.ingest(header.as_deref(), &delivery.body), |_| false))
    }

    fn create_feature(&self, workspace: &TargetWorkspace, id: &str) -> Result<Reply, TargetError> {
        let spec = FeatureSpec { id: id.to_owned() };
        Ok(reply(self.destination.create_feature(&workspace.id, &spec), |created| created.created))
    }

    fn create_rule(
        &self,
        workspace: &TargetWorkspace,
        rule: &RuleSpec,
    ) -> Result<Reply, TargetError> {
        Ok(reply(self.destination.create_rule(&workspace.id, rule), |_| true))
    }

    fn import_billing_customers(
        &self,
        workspace: &TargetWorkspace,
        customers: &[BillingCustomer],
    ) -> Result<Reply, TargetError> {
        Ok(reply(self.destination.import_billing_customers(&workspace.id, customers), |_| true))
    }

    fn state(&self, workspace: &TargetWorkspace) -> Result<CanonicalState, TargetError> {
        self.destination.state(&workspace.id).map_err(|refusal| TargetError::Conformance {
            url: "in-process".to_owned(),
            status: refusal.status,
            message: refusal.message,
        })
    }
}
