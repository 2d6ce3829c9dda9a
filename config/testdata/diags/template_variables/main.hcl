recipients "customers" {
  csv   = "customers.csv"
  phone = row.phone
  key   = row.id
}

campaign "vars" {
  recipients = recipients.customers

  message "number" {
    template  = "offer"
    variables = { "1" = 25, "2" = "x" } # numbers and bools convert, as in text
  }

  message "whole" {
    template  = "offer"
    variables = merge({ "1" = true }, { "2" = 2.5 })
  }

  message "list_item" {
    template  = "offer"
    variables = { "1" = ["a"], "2" = row.first_name }
  }

  message "whole_list" {
    template  = "offer"
    variables = merge({ "1" = ["a"] }, { "2" = row.first_name })
  }

  message "not_object" {
    template  = "offer"
    variables = ["a", "b"]
  }
}

campaign "per_row" {
  recipients = recipients.customers

  message "empty" {
    template  = "offer"
    variables = { "1" = row.first_name }
  }

  message "whole" {
    template  = "offer"
    variables = { for k, v in { "1" = row.first_name } : k => v }
  }
}
