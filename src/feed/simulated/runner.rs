//! The async feed: runs the engine against the clock, delivers its events and cursors, stops when told.

use super::*;

pub(super) struct SimulatedFeed {
    pub(super) profile: SimProfile,
}

impl BankFeed for SimulatedFeed {
    fn run(self: Box<Self>, ctx: FeedContext) -> FeedFuture {
        Box::pin(run(self.profile, ctx))
    }
}

/// Whether a send went through or the feed was cancelled meanwhile.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Sent {
    Done,
    Cancelled,
}

/// Sends one event unless the feed is cancelled first; fails if the writer is gone.
pub(super) async fn send(ctx: &FeedContext, event: FeedEvent) -> Result<Sent, FeedError> {
    tokio::select! {
        biased;
        _ = ctx.cancel.cancelled() => Ok(Sent::Cancelled),
        r = ctx.sink.send(event) => r.map(|()| Sent::Done),
    }
}

/// Hands over the final cursor of a cancelled feed if the writer takes it
/// promptly; the previous cursor stays valid otherwise.
pub(super) async fn send_final_cursor(ctx: &FeedContext, cursor: String) {
    let _ = tokio::time::timeout(FINAL_CURSOR_GRACE, ctx.sink.send(FeedEvent::Cursor(cursor))).await;
}

pub(super) fn now_secs(ctx: &FeedContext) -> i64 {
    (ctx.clock)().timestamp()
}

/// Produces one event, delivers it, and reports cancellation with the cursor
/// as it was before the undelivered event.
pub(super) struct Runner<'a> {
    pub(super) ctx: &'a FeedContext,
    pub(super) sim: Sim,
    /// Bank events delivered in this run.
    pub(super) events: u64,
    /// `events` when the last cursor was sent.
    pub(super) cursor_at: Option<u64>,
}

pub(super) enum StepOutcome {
    Delivered,
    /// Catch-up reached now.
    CaughtUp,
    Cancelled,
}

impl Runner<'_> {
    pub(super) async fn step(&mut self, pace: Pace) -> Result<StepOutcome, FeedError> {
        // Room in the writer's queue first, then the event: a feed cancelled
        // while it waits has produced nothing, and its cursor is its state
        // as it is (no copy of the state before each event).
        let permit = tokio::select! {
            biased;
            _ = self.ctx.cancel.cancelled() => None,
            permit = self.ctx.sink.reserve() => Some(permit?),
        };
        let Some(permit) = permit else {
            send_final_cursor(self.ctx, self.sim.cursor()).await;
            return Ok(StepOutcome::Cancelled);
        };
        let step = {
            let control = self.ctx.control.borrow();
            self.sim.step(now_secs(self.ctx), pace, &control.frozen_accounts)
        };
        let Some(step) = step else {
            return match pace {
                Pace::CatchUp => Ok(StepOutcome::CaughtUp),
                _ => Err(FeedError::Other("simulated feed stalled".into())),
            };
        };
        permit.send(step.event);
        self.events += 1;
        if self.events % CURSOR_EVERY == 0 && self.send_cursor().await? == Sent::Cancelled {
            return Ok(StepOutcome::Cancelled);
        }
        Ok(StepOutcome::Delivered)
    }

    /// Sends the cursor unless it was just sent.
    pub(super) async fn send_cursor(&mut self) -> Result<Sent, FeedError> {
        if self.cursor_at == Some(self.events) {
            return Ok(Sent::Done);
        }
        let cursor = self.sim.cursor();
        let sent = send(self.ctx, FeedEvent::Cursor(cursor.clone())).await?;
        match sent {
            Sent::Done => self.cursor_at = Some(self.events),
            Sent::Cancelled => send_final_cursor(self.ctx, cursor).await,
        }
        Ok(sent)
    }

    /// Ends a cancelled run: hands over the cursor (if not just sent).
    pub(super) async fn cancelled(&mut self) -> FeedExit {
        if self.cursor_at != Some(self.events) {
            send_final_cursor(self.ctx, self.sim.cursor()).await;
        }
        FeedExit::Cancelled { events: self.events }
    }

    /// Events mode: produces the `n` bank events asked for, then the final cursor.
    pub(super) async fn produce(&mut self, n: u64) -> Result<FeedExit, FeedError> {
        while self.events < n {
            match self.step(Pace::Events { remaining: n - self.events }).await? {
                StepOutcome::Delivered | StepOutcome::CaughtUp => {}
                StepOutcome::Cancelled => return Ok(FeedExit::Cancelled { events: self.events }),
            }
        }
        // Everything asked for was produced; a cancellation now only
        // shortens the wait for the final cursor.
        self.send_cursor().await?;
        Ok(FeedExit::Finished { events: n })
    }

    /// Live mode: catches up from `floor` to now, then one event every
    /// `every` seconds (a random wait in `[min, max]`) until cancelled.
    pub(super) async fn live(&mut self, floor: i64, every: (u64, u64)) -> Result<FeedExit, FeedError> {
        if self.catch_up(floor).await? == Sent::Cancelled {
            return Ok(FeedExit::Cancelled { events: self.events });
        }
        // Pacing has its own generator so that it does not change the events.
        let mut pacing = ChaCha8Rng::seed_from_u64(mix_seed(self.ctx.seed, &self.ctx.bank).rotate_left(17) ^ 0x5eed);
        loop {
            let wait = Duration::from_secs(pacing.random_range(every.0..=every.1));
            tokio::select! {
                biased;
                _ = self.ctx.cancel.cancelled() => return Ok(self.cancelled().await),
                _ = tokio::time::sleep(wait) => {}
            }
            match self.step(Pace::Live).await? {
                StepOutcome::Delivered | StepOutcome::CaughtUp => {}
                StepOutcome::Cancelled => return Ok(FeedExit::Cancelled { events: self.events }),
            }
            // In real time a cursor per event keeps a restart from
            // replaying events that the clock would now place differently.
            if self.send_cursor().await? == Sent::Cancelled {
                return Ok(FeedExit::Cancelled { events: self.events });
            }
        }
    }

    /// Delivers everything from `floor` (or the cursor, if later) up to now,
    /// then the cursor.
    pub(super) async fn catch_up(&mut self, floor: i64) -> Result<Sent, FeedError> {
        self.sim.skip_to(floor);
        loop {
            match self.step(Pace::CatchUp).await? {
                StepOutcome::Delivered => {}
                StepOutcome::CaughtUp => break,
                StepOutcome::Cancelled => return Ok(Sent::Cancelled),
            }
        }
        self.send_cursor().await
    }
}

pub(super) async fn run(mut profile: SimProfile, ctx: FeedContext) -> Result<FeedExit, FeedError> {
    let now = now_secs(&ctx);
    if let (FeedMode::Events(n), None) = (ctx.mode, &ctx.cursor) {
        spread_history(&mut profile, n);
    }
    let backfill = i64::from(profile.backfill_days) * DAY;
    let span = history_span(&profile, ctx.mode, backfill);
    let live_every = profile.live_every_secs;
    let (mut sim, linked) =
        Sim::open(profile, &ctx.bank, ctx.seed, ctx.utc_offset_secs, ctx.cursor.as_deref(), now - span);
    if let Some(ahead) = sim.not_after(now) {
        if warn_clock_behind(&ctx, ahead, now).await? == Sent::Cancelled {
            return Ok(FeedExit::Cancelled { events: 0 });
        }
    }
    if link(&ctx, linked).await? == Sent::Cancelled {
        // Nothing of this run is committed: the next run links again.
        return Ok(FeedExit::Cancelled { events: 0 });
    }
    let mut runner = Runner { ctx: &ctx, sim, events: 0, cursor_at: None };
    match ctx.mode {
        FeedMode::Events(n) => runner.produce(n).await,
        FeedMode::Live => runner.live(now - backfill, live_every).await,
    }
}

/// More events than fit in MAX_SPAN at the profile's pace: a busier
/// customer (more ordinary spending per day), so history stays spread out
/// instead of piling up against now.
pub(super) fn spread_history(profile: &mut SimProfile, n: u64) {
    let max_days = (MAX_SPAN / DAY) as f64;
    if n as f64 / profile.daily_rate() <= max_days {
        return;
    }
    let fixed = profile.daily_rate() - profile.events_per_day;
    let busier = (n as f64 / max_days - fixed).max(profile.events_per_day);
    // Who spends k times as much earns k times as much: income scales
    // with the spending so balances stay as healthy as the profile's.
    let k = busier / profile.events_per_day;
    profile.events_per_day = busier;
    for r in &mut profile.recurring {
        if let Amount::Fixed(minor) = &mut r.amount
            && *minor > 0
        {
            *minor = ((*minor as f64) * k).round().min(i64::MAX as f64 / 4.0) as i64;
        }
    }
}

/// How far back a fresh history starts: the backfill, or in events mode as
/// far back as `n` events at the profile's rate need to end about now.
pub(super) fn history_span(profile: &SimProfile, mode: FeedMode, backfill: i64) -> i64 {
    match mode {
        FeedMode::Events(n) => {
            let at_rate = (n as f64 * DAY as f64 / profile.daily_rate()).min(MAX_SPAN as f64) as i64;
            backfill.max(at_rate)
        }
        FeedMode::Live => backfill,
    }
}

/// Tells the user that the cursor (last event at `ahead`) is later than the
/// clock's `now`, so the feed goes on from now.
pub(super) async fn warn_clock_behind(ctx: &FeedContext, ahead: i64, now: i64) -> Result<Sent, FeedError> {
    let zone = crate::domain::when::zone(ctx.utc_offset_secs);
    let text = format!(
        "This computer's clock is earlier than the last event of this feed ({}): the clock was ahead then, \
         or is behind now. The feed goes on from now; check the date and time settings.",
        crate::domain::when::long_date(to_utc(ahead), zone)
    );
    tracing::warn!(bank = %ctx.bank, "simulated feed: its cursor is ahead of the clock; resuming from now");
    send(ctx, FeedEvent::SystemNotice { at: to_utc(now), text }).await
}

/// Links the accounts (all on a fresh start, new ones on resuming).
pub(super) async fn link(ctx: &FeedContext, linked: Vec<AccountInfo>) -> Result<Sent, FeedError> {
    for info in linked {
        if send(ctx, FeedEvent::Account(info)).await? == Sent::Cancelled {
            return Ok(Sent::Cancelled);
        }
    }
    Ok(Sent::Done)
}
