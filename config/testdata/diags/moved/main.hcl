recipients "customers" {
  csv   = "customers.csv"
  phone = row.phone
}

campaign "new" {
  recipients = recipients.customers

  message "offer" {
    template = "offer"
  }
}

moved {
  from = campaign.old
  to   = campaign.new
}

moved {
  from = campaign.old
  to   = campaign.new
}

moved {
  from = campaign.new
  to   = campaign.newer
}

moved {
  from = campaign.old.message.offer
  to   = campaign.new
}

moved {
  from = "campaign.old"
  to   = message.offer
}
