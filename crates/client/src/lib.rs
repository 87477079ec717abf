//! HTTP client for the NXLog Platform agents API.
