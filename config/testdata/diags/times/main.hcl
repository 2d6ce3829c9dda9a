recipients "customers" {
  csv   = "customers.csv"
  phone = row.phone
  key   = row.id
}

campaign "times" {
  recipients = recipients.customers
  start_at   = "2026-11-30T08:00:00+03:00"
  stop_at    = "2026-11-27T20:00:00+03:00"

  send_window {
    from      = "9am"
    to        = "24:30"
    time_zone = "Africa/Dar_Es_Salaam"
  }

  message "offer" {
    template = "offer"
  }
}

campaign "bad_time" {
  recipients = recipients.customers
  start_at   = "next monday"

  send_window {
    from      = "09:00"
    to        = "17:00"
    time_zone = row.tz
  }

  send_window {
    from      = "09:00"
    to        = "17:00"
    time_zone = "UTC"
  }

  message "offer" {
    template = "offer"
  }
}

campaign "zero_time" {
  recipients = recipients.customers
  stop_at    = "0001-01-01T00:00:00Z"

  message "offer" {
    template = "offer"
  }

  message "later" {
    after = message.offer
    delay = "65535d2000000h"
    text  = "Far too late"
  }
}
