//! `serve` and `demo`'s server: the web server and the supervised background jobs side by side,
//! stopped together on Ctrl+C or SIGTERM (the server finishes the requests in flight, the jobs the
//! passes in flight). A job that keeps failing ends the process with an error, loudly, instead of
//! leaving codes, leads or measures silently stale.

use anyhow::Result;
use fangkong_app::App;
use tokio::sync::watch;

/// Serves `app` on `listener` with its background jobs until a stop signal or a job failure.
pub async fn run(
    app: App,
    config: fangkong_web::WebConfig,
    listener: tokio::net::TcpListener,
) -> Result<()> {
    let (stop, stopped) = watch::channel(false);
    let until_stopped = |mut stopped: watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let server = fangkong_web::serve_until(
        app.clone(),
        config,
        listener,
        until_stopped(stopped.clone()),
    );
    let jobs = app.run_jobs(until_stopped(stopped));
    tokio::pin!(server, jobs);
    tokio::select! {
        () = stop_signal() => {
            tracing::info!("stop signal: finishing requests and passes in flight");
            let _ = stop.send(true);
            let (served, jobs) = tokio::join!(server, jobs);
            served?;
            jobs?;
            Ok(())
        }
        failed = &mut jobs => {
            let _ = stop.send(true);
            server.await?;
            failed?;
            Ok(())
        }
        served = &mut server => {
            let _ = stop.send(true);
            jobs.await?;
            served?;
            Ok(())
        }
    }
}

/// Ctrl+C, or SIGTERM (what `systemctl stop` and container runtimes send).
async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
