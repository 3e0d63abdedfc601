//! Integration tests against the real kube-apiserver of `tools/k8s-testenv`: RBAC with
//! ServiceAccount tokens, watches, the controllers it runs, and real `helm`/`kubectl`.

use std::collections::BTreeMap;
use std::process::{Command, Output};
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, Role, RoleBinding, RoleRef, Subject};
use kube::api::{ObjectMeta, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::{Api, Client};
use serde_json::json;
use testsupport::kube_env::TestEnv;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn env() -> &'static TestEnv {
    match TestEnv::shared() {
        Ok(env) => env,
        Err(e) => panic!("the test control plane is required: {e}"),
    }
}

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        ..ObjectMeta::default()
    }
}

fn secret(name: &str, value: &str) -> Secret {
    Secret {
        metadata: meta(name),
        data: Some(BTreeMap::from([(
            "value".to_string(),
            ByteString(value.as_bytes().to_vec()),
        )])),
        ..Secret::default()
    }
}

fn status_code(err: &kube::Error) -> Option<(u16, String)> {
    match err {
        kube::Error::Api(status) => Some((status.code, status.reason.clone())),
        _ => None,
    }
}

/// Creates the ServiceAccount `reader` bound to a Role that may get and update only the
/// Secret `allowed`, and returns a token for it obtained through TokenRequest.
async fn reader_token(admin: &Client, ns: &str) -> Result<String, Box<dyn std::error::Error>> {
    let pp = PostParams::default();
    let sas: Api<ServiceAccount> = Api::namespaced(admin.clone(), ns);
    sas.create(
        &pp,
        &ServiceAccount {
            metadata: meta("reader"),
            ..ServiceAccount::default()
        },
    )
    .await?;
    let roles: Api<Role> = Api::namespaced(admin.clone(), ns);
    roles
        .create(
            &pp,
            &Role {
                metadata: meta("secret-allowed"),
                rules: Some(vec![PolicyRule {
                    api_groups: Some(vec![String::new()]),
                    resources: Some(vec!["secrets".to_string()]),
                    resource_names: Some(vec!["allowed".to_string()]),
                    verbs: vec!["get".to_string(), "update".to_string()],
                    ..PolicyRule::default()
                }]),
            },
        )
        .await?;
    let bindings: Api<RoleBinding> = Api::namespaced(admin.clone(), ns);
    bindings
        .create(
            &pp,
            &RoleBinding {
                metadata: meta("reader-secret-allowed"),
                role_ref: RoleRef {
                    api_group: "rbac.authorization.k8s.io".to_string(),
                    kind: "Role".to_string(),
                    name: "secret-allowed".to_string(),
                },
                subjects: Some(vec![Subject {
                    kind: "ServiceAccount".to_string(),
                    name: "reader".to_string(),
                    namespace: Some(ns.to_string()),
                    ..Subject::default()
                }]),
            },
        )
        .await?;
    let token = env().service_account_token(ns, "reader").await?;
    assert!(!token.is_empty(), "TokenRequest returned no token");
    Ok(token)
}

/// A ServiceAccount token from TokenRequest can get and update the one Secret its Role
/// names, and gets 403 Forbidden on another Secret in the same namespace.
#[tokio::test]
async fn service_account_token_is_limited_by_its_role() -> TestResult {
    let env = env();
    let ns = env.namespace("sa-rbac").await?;
    let admin = env.admin_client()?;
    let admin_secrets: Api<Secret> = Api::namespaced(admin.clone(), ns.name());
    admin_secrets
        .create(&PostParams::default(), &secret("allowed", "one"))
        .await?;
    admin_secrets
        .create(&PostParams::default(), &secret("other", "two"))
        .await?;

    let token = reader_token(&admin, ns.name()).await?;
    let sa = env.client_for_token(&token, ns.name()).await?;
    let sa_secrets: Api<Secret> = Api::namespaced(sa, ns.name());

    let mut got = sa_secrets.get("allowed").await?;
    assert_eq!(
        got.data.as_ref().and_then(|d| d.get("value")),
        Some(&ByteString(b"one".to_vec()))
    );
    got.data = Some(BTreeMap::from([(
        "value".to_string(),
        ByteString(b"updated".to_vec()),
    )]));
    sa_secrets
        .replace("allowed", &PostParams::default(), &got)
        .await?;
    let seen_by_admin = admin_secrets.get("allowed").await?;
    assert_eq!(
        seen_by_admin.data.as_ref().and_then(|d| d.get("value")),
        Some(&ByteString(b"updated".to_vec()))
    );

    let denied = sa_secrets
        .get("other")
        .await
        .expect_err("the Role does not name Secret other");
    assert_eq!(
        status_code(&denied),
        Some((403, "Forbidden".to_string())),
        "{denied}"
    );
    let denied_list = sa_secrets
        .list(&Default::default())
        .await
        .expect_err("the Role grants no list");
    assert_eq!(status_code(&denied_list).map(|s| s.0), Some(403));
    Ok(())
}

/// A static-token user with no bindings is authenticated but denied (RBAC is on, not
/// AlwaysAllow); the admin identity is allowed.
#[tokio::test]
async fn unbound_user_is_forbidden() -> TestResult {
    let env = env();
    let ns = env.namespace("user-rbac").await?;
    let path = env.user_kubeconfig_path("bob");
    let kubeconfig = kube::config::Kubeconfig::read_from(&path)?;
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await?;
    let bob: Api<ConfigMap> = Api::namespaced(Client::try_from(config)?, ns.name());
    let err = bob
        .list(&Default::default())
        .await
        .expect_err("bob has no RoleBinding");
    assert_eq!(
        status_code(&err),
        Some((403, "Forbidden".to_string())),
        "{err}"
    );
    let admin: Api<ConfigMap> = Api::namespaced(env.admin_client()?, ns.name());
    admin.list(&Default::default()).await?;
    Ok(())
}

/// A watch on a Deployment delivers the status condition the test patches in (no
/// deployment controller runs, so status belongs to the test).
#[tokio::test]
async fn watch_sees_patched_deployment_condition() -> TestResult {
    let env = env();
    let ns = env.namespace("watch").await?;
    let deployments: Api<Deployment> = Api::namespaced(env.admin_client()?, ns.name());
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "example.invalid/web:1"}]}
            }
        }
    }))?;
    let created = deployments
        .create(&PostParams::default(), &deployment)
        .await?;
    let rv = created
        .metadata
        .resource_version
        .clone()
        .expect("a created object has a resourceVersion");

    let wp = WatchParams::default()
        .fields("metadata.name=web")
        .timeout(30);
    let mut stream = deployments.watch(&wp, &rv).await?.boxed();

    let status = json!({"status": {
        "observedGeneration": created.metadata.generation,
        "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1,
        "conditions": [{
            "type": "Available", "status": "True",
            "reason": "TestPatched", "message": "patched by the test",
            "lastUpdateTime": "2026-01-01T00:00:00Z", "lastTransitionTime": "2026-01-01T00:00:00Z"
        }]
    }});
    deployments
        .patch_status("web", &PatchParams::default(), &Patch::Merge(&status))
        .await?;

    let seen = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(event) = stream.next().await {
            if let WatchEvent::Modified(d) = event? {
                let conditions = d.status.and_then(|s| s.conditions).unwrap_or_default();
                if let Some(c) = conditions.iter().find(|c| c.type_ == "Available") {
                    return Ok::<_, kube::Error>(Some((c.status.clone(), c.reason.clone())));
                }
            }
        }
        Ok(None)
    })
    .await??;
    assert_eq!(
        seen,
        Some(("True".to_string(), Some("TestPatched".to_string())))
    );
    Ok(())
}

/// The controllers k8s-testenv runs do their work: a new namespace gets its `default`
/// ServiceAccount and the `kube-root-ca.crt` ConfigMap, and the aggregated `edit` role has rules.
#[tokio::test]
async fn controllers_populate_namespaces_and_roles() -> TestResult {
    let env = env();
    let ns = env.namespace("controllers").await?;
    let client = env.admin_client()?;
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), ns.name());
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns.name());
    let mut found = (false, false);
    for _ in 0..100 {
        found = (
            sas.get_opt("default").await?.is_some(),
            cms.get_opt("kube-root-ca.crt").await?.is_some(),
        );
        if found == (true, true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        found,
        (true, true),
        "(default ServiceAccount, kube-root-ca.crt)"
    );
    let edit = Api::<ClusterRole>::all(client).get("edit").await?;
    assert!(
        edit.rules.map(|r| r.len()).unwrap_or(0) > 10,
        "aggregated edit role has rules"
    );
    Ok(())
}

/// The server reports the Kubernetes version that k8s-openapi's `v1_34` feature describes.
#[tokio::test]
async fn server_version_matches_k8s_openapi_feature() -> TestResult {
    let info = env().admin_client()?.apiserver_version().await?;
    assert_eq!((info.major.as_str(), info.minor.as_str()), ("1", "34"));
    assert!(
        info.git_version.starts_with("v1.34."),
        "{}",
        info.git_version
    );
    Ok(())
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"))
}

/// Real `helm install` of a small chart creates its objects, `helm list` shows the release
/// as deployed, and real `kubectl` reads what Helm made.
#[tokio::test]
async fn helm_install_and_list() -> TestResult {
    let env = env();
    let ns = env.namespace("helm").await?;
    let chart = tempfile::tempdir()?;
    std::fs::write(
        chart.path().join("Chart.yaml"),
        "apiVersion: v2\nname: hello\nversion: 0.1.0\nkubeVersion: \">=1.34.0-0\"\n",
    )?;
    std::fs::write(chart.path().join("values.yaml"), "greeting: hello\n")?;
    std::fs::create_dir(chart.path().join("templates"))?;
    std::fs::write(
        chart.path().join("templates/configmap.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\n\
         data:\n  greeting: {{ .Values.greeting | quote }}\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n",
    )?;
    let helm = testsupport::tools::helm()?;
    let kubeconfig = env.kubeconfig_path();
    let out = run(Command::new(&helm)
        .args(["install", "greet"])
        .arg(chart.path())
        .args([
            "--namespace",
            ns.name(),
            "--set",
            "greeting=hi",
            "--kubeconfig",
        ])
        .arg(kubeconfig));
    assert!(
        out.status.success(),
        "helm install: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = run(Command::new(&helm)
        .args([
            "list",
            "--namespace",
            ns.name(),
            "--output",
            "json",
            "--kubeconfig",
        ])
        .arg(kubeconfig));
    assert!(
        out.status.success(),
        "helm list: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let releases: Vec<(String, String, String)> = list
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    let field = |k: &str| r[k].as_str().unwrap_or_default().to_string();
                    (field("name"), field("status"), field("chart"))
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        releases,
        vec![(
            "greet".to_string(),
            "deployed".to_string(),
            "hello-0.1.0".to_string()
        )]
    );

    let cm: Api<ConfigMap> = Api::namespaced(env.admin_client()?, ns.name());
    let data = cm.get("greet-cm").await?.data.unwrap_or_default();
    assert_eq!(data.get("greeting").map(String::as_str), Some("hi"));
    assert!(
        data.get("kube").is_some_and(|v| v.starts_with("v1.34.")),
        "{data:?}"
    );

    let kubectl = testsupport::tools::kubectl()?;
    let out = run(Command::new(&kubectl)
        .args(["get", "configmap", "greet-cm", "--namespace", ns.name()])
        .args(["--output", "jsonpath={.data.greeting}", "--kubeconfig"])
        .arg(kubeconfig));
    assert!(
        out.status.success(),
        "kubectl get: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi");
    Ok(())
}
