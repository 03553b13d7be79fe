//! The access-token signing key: configured, or generated once and kept in
//! the data directory so a single server's tokens survive restarts.

use std::io::Write;
use std::path::Path;

use agents_adapters::auth::JwtKeys;
use rand::RngCore;

use super::StartupError;
use crate::config::{JwtAlgorithm, Settings};

/// The Python service's documented placeholder: never a real key.
const PLACEHOLDER: &str = "your-secret-key-here-change-in-production";
const MIN_SECRET_BYTES: usize = 32;
const GENERATED_FILE: &str = "secret_key";

/// Resolves the signing keys from the settings.
pub fn signing_keys(settings: &Settings) -> Result<JwtKeys, StartupError> {
    match settings.jwt_algorithm {
        JwtAlgorithm::EdDSA => {
            let read = |key: &str, path: Option<&Path>| {
                let path = path
                    .ok_or_else(|| StartupError::Config(format!("{key} is required for EdDSA")))?;
                std::fs::read(path).map_err(|e| {
                    StartupError::Config(format!("{key}: cannot read {}: {e}", path.display()))
                })
            };
            Ok(JwtKeys::EdDsa {
                private_pem: read(
                    "JWT_PRIVATE_KEY_PATH",
                    settings.jwt_private_key_path.as_deref(),
                )?,
                public_pem: read(
                    "JWT_PUBLIC_KEY_PATH",
                    settings.jwt_public_key_path.as_deref(),
                )?,
            })
        }
        JwtAlgorithm::HS256 => match &settings.secret_key {
            Some(secret) => {
                check_secret(secret.expose())?;
                Ok(JwtKeys::Hs256(secret.expose().as_bytes().to_vec()))
            }
            None => Ok(JwtKeys::Hs256(load_or_generate(&settings.data_dir)?)),
        },
    }
}

/// Refuses the placeholder, empty and short keys.
pub fn check_secret(secret: &str) -> Result<(), StartupError> {
    if secret.trim().is_empty() {
        return Err(StartupError::Config(
            "SECRET_KEY: is empty; set at least 32 random bytes or unset it".into(),
        ));
    }
    if secret == PLACEHOLDER {
        return Err(StartupError::Config(
            "SECRET_KEY: is the documented placeholder; set a real random key".into(),
        ));
    }
    if secret.len() < MIN_SECRET_BYTES {
        return Err(StartupError::Config(format!(
            "SECRET_KEY: must be at least {MIN_SECRET_BYTES} bytes (got {})",
            secret.len()
        )));
    }
    Ok(())
}

/// Reads `<data_dir>/secret_key`, creating it (mode 0600) on first start.
fn load_or_generate(data_dir: &Path) -> Result<Vec<u8>, StartupError> {
    let path = data_dir.join(GENERATED_FILE);
    let io = |what: &str, e: std::io::Error| {
        StartupError::Config(format!("{what} {}: {e}", path.display()))
    };
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let key = existing.trim().to_owned();
        check_secret(&key).map_err(|_| {
            StartupError::Config(format!(
                "{} holds an invalid key; delete it to regenerate",
                path.display()
            ))
        })?;
        return Ok(key.into_bytes());
    }
    std::fs::create_dir_all(data_dir).map_err(|e| io("cannot create data directory for", e))?;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let key = hex::encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(&path) {
        Ok(mut file) => {
            file.write_all(key.as_bytes())
                .map_err(|e| io("cannot write", e))?;
            tracing::warn!(path = %path.display(), "generated a signing key; set SECRET_KEY when running more than one replica");
            Ok(key.into_bytes())
        }
        // Another process won the race: use its key.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let existing = std::fs::read_to_string(&path).map_err(|e| io("cannot read", e))?;
            Ok(existing.trim().as_bytes().to_vec())
        }
        Err(e) => Err(io("cannot create", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_empty_and_short_keys_are_refused() {
        assert!(check_secret(PLACEHOLDER).is_err());
        assert!(check_secret("").is_err());
        assert!(check_secret("   ").is_err());
        assert!(check_secret("short-key").is_err());
        assert!(check_secret(&"k".repeat(32)).is_ok());
    }

    #[test]
    fn a_generated_key_is_private_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = load_or_generate(dir.path()).expect("generated");
        let second = load_or_generate(dir.path()).expect("reused");
        assert_eq!(first, second);
        assert!(first.len() >= MIN_SECRET_BYTES);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(GENERATED_FILE))
                .expect("file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
