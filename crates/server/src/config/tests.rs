//! Configuration loading: precedence, Python names, and one-line errors.
#![allow(clippy::result_large_err)] // figment::Jail closures return figment::Error by design.

use figment::Jail;

use super::*;

fn load_in(jail: &Jail) -> Result<Settings, ConfigError> {
    let _ = jail;
    Settings::load(None)
}

#[test]
fn defaults_start_on_localhost_8000_with_sqlite() {
    Jail::expect_with(|jail| {
        let settings = load_in(jail).map_err(|e| e.to_string())?;
        assert_eq!(settings.host, "127.0.0.1");
        assert_eq!(settings.port, 8000);
        assert!(settings.database_url.is_none());
        assert_eq!(settings.log_format, LogFormat::Pretty);
        Ok(())
    });
}

#[test]
fn environment_overrides_file_which_overrides_defaults() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "agents.toml",
            "port = 9000\napp_name = \"From file\"\nlog_format = \"json\"",
        )?;
        let from_file = load_in(jail).map_err(|e| e.to_string())?;
        assert_eq!(from_file.port, 9000);
        assert_eq!(from_file.app_name, "From file");
        assert_eq!(from_file.log_format, LogFormat::Json);
        jail.set_env("PORT", "9100");
        jail.set_env("APP_VERSION", "2.0");
        jail.set_env("SECRET_KEY", "12345678901234567890123456789012345");
        jail.set_env("ALLOWED_ORIGINS", "https://a.example, https://b.example");
        jail.set_env("DEBUG", "true");
        let settings = load_in(jail).map_err(|e| e.to_string())?;
        assert_eq!(settings.port, 9100);
        assert_eq!(settings.app_name, "From file");
        assert_eq!(
            settings.app_version, "2.0",
            "a numeric-looking version stays text"
        );
        assert_eq!(
            settings.secret_key.as_ref().map(|s| s.expose().to_owned()),
            Some("12345678901234567890123456789012345".to_owned())
        );
        assert_eq!(
            settings.allowed_origins,
            ["https://a.example", "https://b.example"]
        );
        assert!(settings.debug);
        Ok(())
    });
}

#[test]
fn json_array_lists_from_the_python_service_are_accepted() {
    Jail::expect_with(|jail| {
        jail.set_env("ALLOWED_METHODS", r#"["GET","POST"]"#);
        let settings = load_in(jail).map_err(|e| e.to_string())?;
        assert_eq!(settings.allowed_methods, ["GET", "POST"]);
        Ok(())
    });
}

#[test]
fn a_bad_port_names_the_key() {
    Jail::expect_with(|jail| {
        jail.set_env("PORT", "abc");
        let err = load_in(jail).expect_err("must fail").to_string();
        assert!(err.starts_with("configuration error: PORT"), "{err}");
        assert!(err.contains("u16"), "{err}");
        assert!(!err.contains('\n'));
        Ok(())
    });
}

#[test]
fn an_unknown_log_format_names_the_choices() {
    Jail::expect_with(|jail| {
        jail.set_env("LOG_FORMAT", "xml");
        let err = load_in(jail).expect_err("must fail").to_string();
        assert!(err.contains("LOG_FORMAT"), "{err}");
        assert!(err.contains("pretty") && err.contains("json"), "{err}");
        Ok(())
    });
}

#[test]
fn semantic_checks_name_their_key() {
    Jail::expect_with(|jail| {
        jail.set_env("DATABASE_URL", "mysql://x");
        let err = load_in(jail).expect_err("must fail").to_string();
        assert!(err.contains("DATABASE_URL"), "{err}");
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.set_env("LLM_TIMEOUT", "-1");
        let err = load_in(jail).expect_err("must fail").to_string();
        assert!(err.contains("LLM_TIMEOUT"), "{err}");
        Ok(())
    });
}

#[test]
fn agents_and_plans_come_from_the_file() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "custom.toml",
            r#"
[agents.legal]
description = "Legal questions"
instructions = "You are a lawyer."
handoffs = ["triage"]

[plans.starter.features.messages]
hard_limit = 100
soft_limit = 80
is_metered = true
"#,
        )?;
        let settings = Settings::load(Some(Path::new("custom.toml"))).map_err(|e| e.to_string())?;
        assert_eq!(settings.agents["legal"].handoffs, ["triage"]);
        assert_eq!(
            settings.plans["starter"].features["messages"].hard_limit,
            Some(100)
        );
        Ok(())
    });
}

#[test]
fn a_missing_config_file_is_an_error() {
    Jail::expect_with(|_jail| {
        let err = Settings::load(Some(Path::new("nope.toml"))).expect_err("must fail");
        assert!(err.to_string().contains("nope.toml"));
        Ok(())
    });
}

#[test]
fn debug_output_hides_secrets() {
    let settings = Settings {
        secret_key: Some(Secret::new("super-secret-value-123")),
        ..Settings::default()
    };
    assert!(!format!("{settings:?}").contains("super-secret-value-123"));
}

#[test]
fn the_example_file_loads_and_documents_every_environment_key() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../agents.example.toml");
    let text = std::fs::read_to_string(example).expect("agents.example.toml exists");
    for key in ENV_KEYS {
        let name = key.to_lowercase();
        assert!(
            text.lines().any(|l| l
                .trim_start_matches(['#', ' '])
                .starts_with(&format!("{name} "))),
            "{name} is not documented in agents.example.toml"
        );
    }
    Jail::expect_with(|_jail| {
        let settings = Settings::load(Some(Path::new(example))).map_err(|e| e.to_string())?;
        assert_eq!(settings.port, Settings::default().port);
        Ok(())
    });
}

#[test]
fn the_acquire_timeout_defaults_to_two_seconds_and_the_python_pool_timeout_is_only_read() {
    Jail::expect_with(|jail| {
        let settings = load_in(jail).map_err(|e| e.to_string())?;
        assert_eq!(settings.database_acquire_timeout, 2.0);
        assert_eq!(settings.database_pool_timeout, None);
        jail.set_env("DATABASE_ACQUIRE_TIMEOUT", "0.5");
        jail.set_env("DATABASE_POOL_TIMEOUT", "30");
        let settings = load_in(jail).map_err(|e| e.to_string())?;
        assert_eq!(settings.database_acquire_timeout, 0.5);
        assert_eq!(settings.database_pool_timeout, Some(30.0));
        jail.set_env("DATABASE_ACQUIRE_TIMEOUT", "0");
        let err = load_in(jail).expect_err("must fail").to_string();
        assert!(err.contains("DATABASE_ACQUIRE_TIMEOUT"), "{err}");
        Ok(())
    });
}
