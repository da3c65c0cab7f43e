//! Sandbox simulators of the provincial platform and e-Longyan (their own binary, also mounted by
//! `hub demo`), next to the deployment files in this directory: example configurations, the
//! systemd unit, the container build file and the compose file.
//!
//! The simulators are empty until the federated sign-in work lands.
