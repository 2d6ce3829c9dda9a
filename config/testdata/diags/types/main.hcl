recipients "customers" {
  csv   = "customers.csv"
  phone = row.phone
  where = row.opt_in
}

recipients "key_list" {
  csv   = "customers.csv"
  phone = row.phone
  key   = [row.id]
}

recipients "ok" {
  csv   = "customers.csv"
  phone = row.phone
  key   = row.id
}

campaign "types" {
  recipients = recipients.ok

  message "offer" {
    template = "offer"
  }

  message "when_string" {
    after = message.offer
    when  = reply.id
    text  = "x"
  }

  message "text_list" {
    after = message.offer
    text  = [row.phone]
  }

  message "bad_call" {
    after = message.offer
    text  = upper(row.phone, 2)
  }

  message "unknown_function" {
    after = message.offer
    text  = uppr(row.phone)
  }

  message "row_fails" {
    after = message.offer
    text  = "${parseint(row.id, 10) + 1}"
  }
}

recipients "numeric_ids" {
  csv   = "customers.csv"
  phone = row.phone
  where = parseint(row.id, 10) > 0
}
