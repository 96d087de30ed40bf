//! A retailer issuing commands through the real command service, with its projections
//! folded on demand: the shop the replay and ledger tests tell their stories in.

#![allow(clippy::unwrap_used)] // a test fixture: a failed command is a failed test

use application::commands::{CommandContext, CommandOutcome, CommandService, NewProduct};
use domain::sale::{FulfilLines, LineSelection, OpenSale};
use event_schemas::*;
use projections::queries::trace::{ProductScope, SerialRecord, trace_serial};
use projections::{Projection, ProjectionRunner, ReadDb, RunnerOptions};
use replay::history::{HistoryQuery, HistorySource, SerialHistory, serial_history};
use std::time::{Duration, Instant};
use store::{AnyStore, Position};
use uuid::Uuid;

use crate::TestStore;

pub const STORE: OutletId = OutletId(Uuid::from_u128(0x5_1));
pub const WAREHOUSE: OutletId = OutletId(Uuid::from_u128(0x5_2));

/// A retailer issuing commands through the real command service, with the projections
/// folded after each command.
pub struct Shop {
    /// The command service.
    pub service: CommandService<AnyStore>,
    /// The projections.
    pub runner: ProjectionRunner,
    /// The retailer.
    pub tenant_id: TenantId,
}

impl Shop {
    pub async fn new(db: &TestStore) -> Self {
        let runner = ProjectionRunner::new(db.store.clone(), RunnerOptions::default());
        runner.migrate().await.unwrap();
        Self {
            service: CommandService::new(db.store.clone()),
            runner,
            tenant_id: TenantId::new_v7(),
        }
    }

    pub fn context(&self, channel: Channel, outlet_id: OutletId, actor: &str) -> CommandContext {
        CommandContext {
            tenant_id: self.tenant_id,
            metadata: CommandMetadata {
                command_id: CommandId::new_v7(),
                correlation_id: Uuid::now_v7(),
                causation_id: None,
                actor: Actor {
                    kind: ActorKind::User,
                    id: format!("staff-{actor}"),
                    display_name: actor.to_owned(),
                },
                channel,
                outlet_id: Some(outlet_id),
            },
        }
    }

    pub fn pos(&self) -> CommandContext {
        self.context(Channel::Pos, STORE, "Sam")
    }

    pub async fn product(&self, sku: &str, serial_mode: SerialMode) -> ProductId {
        let product_id = ProductId::new_v7();
        self.service
            .create_product(
                &self.context(Channel::BackOffice, STORE, "Manager"),
                NewProduct {
                    product_id,
                    sku: sku.into(),
                    name: format!("{sku} product"),
                    serial_mode: Some(serial_mode),
                    source: SerialModeSource::Manual,
                    package: None,
                },
            )
            .await
            .unwrap();
        product_id
    }

    pub async fn open(&self, invoice_number: &str, customer: &str) -> (SaleId, CommandOutcome) {
        let sale_id = SaleId::new_v7();
        let outcome = self
            .service
            .open_sale(
                &self.pos(),
                OpenSale {
                    sale_id,
                    invoice_number: invoice_number.into(),
                    sale_type: SaleType::Sale,
                    delivery_mode: DeliveryMode::CashAndCarry,
                    outlet_id: STORE,
                    customer: Some(Customer {
                        customer_id: CustomerId::new_v7(),
                        name: customer.into(),
                    }),
                },
            )
            .await
            .unwrap();
        (sale_id, outcome)
    }

    pub async fn add(&self, sale_id: SaleId, product_id: ProductId) -> CommandOutcome {
        self.service
            .add_item(&self.pos(), sale_id, product_id, 1, aud(99_900))
            .await
            .unwrap()
    }

    pub async fn assign(&self, sale_id: SaleId, line: u32, serial: &str) -> CommandOutcome {
        self.service
            .assign_serial(
                &self.pos(),
                sale_id,
                domain::sale::AssignSerial {
                    line_number: LineNumber(line),
                    serial: serial.into(),
                },
            )
            .await
            .unwrap()
    }

    pub async fn fulfil_from_the_warehouse(&self, sale_id: SaleId) -> CommandOutcome {
        self.service
            .fulfil_lines(
                &self.context(Channel::FulfilmentReport, WAREHOUSE, "Wendy"),
                sale_id,
                FulfilLines {
                    lines: LineSelection::All,
                },
            )
            .await
            .unwrap()
    }

    /// Folds every projection up to `position`, waiting for PostgreSQL to make it visible
    /// (other databases' open transactions on the server can hold readers back a moment).
    pub async fn fold_up_to(&self, position: Position) {
        let started = Instant::now();
        loop {
            self.runner.catch_up_all().await.unwrap();
            let mut reached = true;
            for projection in Projection::ALL {
                reached &= self.runner.checkpoint(projection).await.unwrap().0 >= position;
            }
            if reached {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "projections did not reach {position}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn live_records(&self, serial: &str) -> Vec<SerialRecord> {
        let db = ReadDb::of(self.service.store());
        trace_serial(&db, self.tenant_id, serial, &ProductScope::default())
            .await
            .unwrap()
            .into_iter()
            .map(|trace| trace.record)
            .collect()
    }

    /// The serial's history. A scan reads the log, whose reader holds back the newest commits
    /// for a moment on PostgreSQL, so it first waits until every committed event is readable.
    pub async fn history(&self, serial: &str, source: HistorySource) -> SerialHistory {
        if source == HistorySource::Scan {
            crate::wait_until_visible(self.service.store(), self.committed_events_of_all().await)
                .await;
        }
        let query = HistoryQuery {
            source,
            ..HistoryQuery::new(self.tenant_id, serial)
        };
        serial_history(self.service.store(), &query).await.unwrap()
    }
}

/// Australian dollars, in cents.
pub fn aud(amount_minor: i64) -> Money {
    Money {
        amount_minor,
        currency: "AUD".into(),
    }
}

impl Shop {
    /// Folds the proofs until the retailer's tree holds every event it has committed. On
    /// PostgreSQL a reader of the log is held back for a moment from commits that other
    /// databases' open transactions on the server may precede.
    pub async fn fold_proofs(&self) {
        let committed = self.committed_events().await;
        let started = Instant::now();
        loop {
            self.runner.catch_up(Projection::Proofs).await.unwrap();
            let mut tx = self.runner.db().snapshot().await.unwrap();
            let state = projections::proofs::queries::state(&mut tx, self.tenant_id)
                .await
                .unwrap();
            tx.rollback().await.unwrap();
            if state.tree_size >= committed {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the proofs did not reach {committed} events"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn committed_events(&self) -> u64 {
        let tenant = self.tenant_id.to_string();
        let count: i64 = match self.runner.db() {
            ReadDb::Sqlite { readers, .. } => {
                sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE tenant_id = $1")
                    .bind(&tenant)
                    .fetch_one(readers)
                    .await
                    .unwrap()
            }
            ReadDb::Postgres(pool) => {
                sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE tenant_id::text = $1")
                    .bind(&tenant)
                    .fetch_one(pool)
                    .await
                    .unwrap()
            }
        };
        u64::try_from(count).unwrap()
    }

    async fn committed_events_of_all(&self) -> u64 {
        let count: i64 = match self.runner.db() {
            ReadDb::Sqlite { readers, .. } => sqlx::query_scalar("SELECT COUNT(*) FROM events")
                .fetch_one(readers)
                .await
                .unwrap(),
            ReadDb::Postgres(pool) => sqlx::query_scalar("SELECT COUNT(*) FROM events")
                .fetch_one(pool)
                .await
                .unwrap(),
        };
        u64::try_from(count).unwrap()
    }

    /// Folds the proofs up to the end of the log and issues a checkpoint of the retailer's
    /// tree now (signed with `key` when given).
    pub async fn checkpoint(
        &self,
        key: Option<&ledger_proof::checkpoint::SigningKey>,
    ) -> projections::proofs::checkpoints::StoredCheckpoint {
        self.fold_proofs().await;
        projections::proofs::checkpoints::issue(self.runner.db(), self.tenant_id, key)
            .await
            .unwrap()
    }

    /// The evidence file of `serial` against the retailer's newest checkpoint, as an
    /// auditor would read it back from disk.
    pub async fn evidence(&self, serial: &str) -> serde_json::Value {
        self.fold_proofs().await;
        let history = self.history(serial, HistorySource::Index).await;
        let proofs = replay::evidence::prove(self.runner.db(), &history)
            .await
            .unwrap();
        let document =
            replay::evidence::to_json(&history, &proofs, time::OffsetDateTime::now_utc());
        serde_json::from_str(&serde_json::to_string_pretty(&document).unwrap()).unwrap()
    }
}
