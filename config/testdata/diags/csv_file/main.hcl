recipients "missing" {
  csv   = "nowhere.csv"
  phone = row.phone
}

recipients "empty" {
  csv   = "empty.csv"
  phone = row.phone
}

recipients "bad_header" {
  csv   = "bad_header.csv"
  phone = row.phone
}

recipients "malformed" {
  csv            = "malformed.csv"
  phone          = row.phone
  key            = row.id
  default_region = "TZ"
}
