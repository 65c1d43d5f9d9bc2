// Package ranges loads cloud providers' published IP ranges, the files a
// user downloads, into egress.CloudRange values for the egress table:
//
//   - AWS ip-ranges.json (https://ip-ranges.amazonaws.com/ip-ranges.json):
//     "prefixes" with ip_prefix and "ipv6_prefixes" with ipv6_prefix, each
//     with region, service and network_border_group;
//   - Google cloud.json (https://www.gstatic.com/ipranges/cloud.json):
//     "prefixes" with ipv4Prefix or ipv6Prefix, service and scope (the
//     region); goog.json, the same form without service and scope, loads
//     too;
//   - Azure service tags (ServiceTags_Public_YYYYMMDD.json, from
//     Microsoft's download centre): "values", each with a name and
//     properties.addressPrefixes, properties.region and
//     properties.systemService.
//
// # Edges
//
// Load opens the file with an Opener, which the command sets to
// privs.OpenUser: netriage may hold capabilities that read any file, and a
// path the user names is opened with the user's own rights. Parse is pure
// and fuzzed.
//
// # Hostile files
//
// A file is read up to Limits.MaxFileBytes and no further, and its prefixes
// are counted as they are read, up to Limits.MaxPrefixes; the JSON is
// walked token by token with a nesting cap, so no array or object is held
// whole beyond the file's own bytes. Errors name the file, the line, the
// column and the byte offset, and the field of the format that is wrong;
// they never quote the file's text.
package ranges
