locals {
  a = local.b
  b = local.a
  c = local.nope
  d = row.phone
}

locals {
  c = "again"
}
