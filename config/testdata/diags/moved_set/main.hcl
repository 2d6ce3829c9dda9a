# Moved blocks that are each fine, but not together.
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

campaign "d" {
  recipients = recipients.customers

  message "offer" {
    template = "offer"
  }
}

campaign "other" {
  recipients = recipients.customers

  message "offer" {
    template = "offer"
  }
}

# Two sources, one destination.
moved {
  from = campaign.spring
  to   = campaign.new
}

moved {
  from = campaign.winter
  to   = campaign.new
}

# A campaign, and a message of it.
moved {
  from = campaign.gone
  to   = campaign.other
}

moved {
  from = campaign.gone.message.offer
  to   = campaign.new.message.offer
}

# A chain of messages.
moved {
  from = campaign.a.message.hello
  to   = campaign.b.message.hello
}

moved {
  from = campaign.b.message.hello
  to   = campaign.other.message.offer
}

# A campaign renamed, then one of its messages.
moved {
  from = campaign.c
  to   = campaign.d
}

moved {
  from = campaign.d.message.teaser
  to   = campaign.d.message.offer
}

# A cycle.
moved {
  from = campaign.x
  to   = campaign.y
}

moved {
  from = campaign.y
  to   = campaign.x
}
