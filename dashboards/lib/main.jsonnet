// Default entry for `slokit generate`: slokit's dashboards, unchanged. Copy this file to extend them
// (see docs/dashboards.md) and pass it with `slokit generate --dashboards-jsonnet FILE`.
local slokit = import 'slokit.libsonnet';

function(model) slokit.dashboards(model)
