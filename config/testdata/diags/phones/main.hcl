recipients "tz" {
  csv            = "tz.csv"
  phone          = row.phone
  key            = row.id
  default_region = "TZ"
}

recipients "international" {
  csv   = "intl.csv"
  phone = row.phone
}

recipients "bad_region" {
  csv            = "intl.csv"
  phone          = row.phone
  default_region = "Tanzania"
}
