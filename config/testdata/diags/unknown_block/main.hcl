campain "typo" {
}

recipient "customers" {
  csv = "customers.csv"
}
