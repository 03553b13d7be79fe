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

/// The secret settings, by environment name.
const SECRET_KEYS: [&str; 7] = [
    "SECRET_KEY",
    "REDIS_URL",
    "DATABASE_URL",
    "OPENAI_API_KEY",
    "TAVILY_API_KEY",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
];

fn secrets_of(settings: &Settings) -> [Option<&Secret>; 7] {
    [
        settings.secret_key.as_ref(),
        settings.redis_url.as_ref(),
        settings.database_url.as_ref(),
        settings.openai_api_key.as_ref(),
        settings.tavily_api_key.as_ref(),
        settings.stripe_secret_key.as_ref(),
        settings.stripe_webhook_secret.as_ref(),
    ]
}

#[test]
fn an_empty_or_blank_secret_setting_is_unset_from_the_environment_and_the_file() {
    Jail::expect_with(|jail| {
        for (i, key) in SECRET_KEYS.iter().enumerate() {
            jail.set_env(key, if i % 2 == 0 { "" } else { "  \t" });
        }
        let settings = load_in(jail).map_err(|e| e.to_string())?;
        assert_eq!(secrets_of(&settings), [None; 7]);
        Ok(())
    });
    Jail::expect_with(|jail| {
        let file: String = SECRET_KEYS
            .iter()
            .map(|k| format!("{} = \" \"\n", k.to_lowercase()))
            .collect();
        jail.create_file("agents.toml", &file)?;
        let settings = load_in(jail).map_err(|e| e.to_string())?;
        assert_eq!(secrets_of(&settings), [None; 7]);
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.set_env("STRIPE_SECRET_KEY", "sk_test_123");
        jail.set_env("OPENAI_API_KEY", "sk-abc");
        let settings = load_in(jail).map_err(|e| e.to_string())?;
        assert_eq!(
            settings.stripe_secret_key.as_ref().map(Secret::expose),
            Some("sk_test_123")
        );
        assert_eq!(
            settings.openai_api_key.as_ref().map(Secret::expose),
            Some("sk-abc")
        );
        Ok(())
    });
}

#[test]
fn billing_with_stripe_refuses_to_start_without_a_webhook_secret() {
    for webhook_secret in [None, Some(""), Some("   ")] {
        Jail::expect_with(|jail| {
            jail.set_env("ENABLE_BILLING", "true");
            jail.set_env("STRIPE_SECRET_KEY", "sk_test_123");
            if let Some(value) = webhook_secret {
                jail.set_env("STRIPE_WEBHOOK_SECRET", value);
            }
            let err = load_in(jail).expect_err("must fail").to_string();
            assert!(
                err.starts_with("configuration error: STRIPE_WEBHOOK_SECRET"),
                "{err}"
            );
            assert!(!err.contains('\n'), "{err}");
            Ok(())
        });
    }
    Jail::expect_with(|jail| {
        // The local gateway (empty Stripe key) and billing off need none.
        jail.set_env("ENABLE_BILLING", "true");
        jail.set_env("STRIPE_SECRET_KEY", "");
        load_in(jail).map_err(|e| e.to_string())?;
        jail.set_env("ENABLE_BILLING", "false");
        jail.set_env("STRIPE_SECRET_KEY", "sk_test_123");
        load_in(jail).map_err(|e| e.to_string())?;
        Ok(())
    });
}

#[test]
fn the_deploy_files_ship_no_empty_secret() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/");
    for file in ["docker-compose.yml", "k8s/secret.yaml"] {
        let text = std::fs::read_to_string(format!("{root}{file}")).expect("deploy file exists");
        for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            if !SECRET_KEYS.contains(&key.trim()) {
                continue;
            }
            let value = value.trim();
            // `KEY:` alone passes the shell's value through, or nothing.
            let empty = value == "\"\"" || value == "''" || value.ends_with(":-}");
            assert!(!empty, "{file} ships an empty {}: {line}", key.trim());
        }
    }
}
